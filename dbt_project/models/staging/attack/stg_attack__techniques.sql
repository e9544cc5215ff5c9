with

source as (
    select * from {{ ref('stg_attack__objects') }}
    where stix_type = 'attack-pattern'
),

renamed as (
    select
        attack_version,
        stix_id,
        external_id as technique_id,
        name,
        description,
        url,
        coalesce((payload ->> 'x_mitre_is_subtechnique')::boolean, external_id like '%.%') as is_subtechnique,
        case when external_id like '%.%' then split_part(external_id, '.', 1) end as parent_technique_id,
        array(select jsonb_array_elements_text(coalesce(payload -> 'x_mitre_platforms', '[]'))) as platforms,
        -- before v18: 'Data Source: Data Component' strings; v18 moved them to detection strategies
        array(select jsonb_array_elements_text(coalesce(payload -> 'x_mitre_data_sources', '[]'))) as data_sources_legacy,
        payload ->> 'x_mitre_detection' as detection_legacy,
        array(
            select k ->> 'phase_name'
            from jsonb_array_elements(coalesce(payload -> 'kill_chain_phases', '[]')) as k
            where k ->> 'kill_chain_name' = 'mitre-attack'
        ) as tactic_shortnames,
        is_revoked,
        is_deprecated,
        modified_at
    from source
)

select * from renamed
