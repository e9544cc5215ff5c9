{# v18+ detection strategies, one row per analytic they reference. #}
with

source as (
    select * from {{ ref('stg_attack__objects') }}
    where stix_type = 'x-mitre-detection-strategy'
),

renamed as (
    select
        source.attack_version,
        source.stix_id,
        source.external_id as detection_strategy_id,
        source.name,
        source.is_revoked,
        source.is_deprecated,
        analytic_ref.stix_id as analytic_stix_id
    from source
    cross join lateral jsonb_array_elements_text(coalesce(source.payload -> 'x_mitre_analytic_refs', '[]'))
        as analytic_ref (stix_id)
)

select * from renamed
