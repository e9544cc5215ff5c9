with

source as (
    select * from {{ source('attack', 'attack_objects') }}
    where stix_type = 'relationship'
),

renamed as (
    select
        attack_version,
        stix_id as relationship_id,
        payload ->> 'relationship_type' as relationship_type,
        payload ->> 'source_ref' as source_ref,
        split_part(payload ->> 'source_ref', '--', 1) as source_type,
        payload ->> 'target_ref' as target_ref,
        split_part(payload ->> 'target_ref', '--', 1) as target_type,
        payload ->> 'description' as description,
        coalesce((payload ->> 'revoked')::boolean, false) as is_revoked,
        coalesce((payload ->> 'x_mitre_deprecated')::boolean, false) as is_deprecated
    from source
)

select * from renamed
