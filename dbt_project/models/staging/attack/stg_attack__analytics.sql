{# v18+ analytics with one row per log source reference (name like 'AWS:CloudTrail', channel free text). #}
with

source as (
    select * from {{ ref('stg_attack__objects') }}
    where stix_type = 'x-mitre-analytic'
),

renamed as (
    select
        source.attack_version,
        source.stix_id,
        source.external_id as analytic_id,
        source.description,
        source.is_revoked,
        source.is_deprecated,
        log_source.ordinal::int as log_source_ordinal,
        log_source.ref ->> 'name' as log_source_name,
        log_source.ref ->> 'channel' as log_source_channel,
        log_source.ref ->> 'x_mitre_data_component_ref' as data_component_stix_id
    from source
    left join
        lateral jsonb_array_elements(coalesce(source.payload -> 'x_mitre_log_source_references', '[]'))
        with ordinality as log_source (ref, ordinal)
        on true
)

select * from renamed
