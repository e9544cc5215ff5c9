{# The matrix's tactic_refs, in order: the display order of the tactics. #}
with

source as (
    select * from {{ ref('stg_attack__objects') }}
    where stix_type = 'x-mitre-matrix' and not is_revoked and not is_deprecated
),

renamed as (
    select
        source.attack_version,
        source.external_id as matrix_id,
        refs.tactic_ref as tactic_stix_id,
        refs.display_order::int as display_order
    from source
    cross join
        lateral jsonb_array_elements_text(source.payload -> 'tactic_refs')
        with ordinality as refs (tactic_ref, display_order)
)

select * from renamed
