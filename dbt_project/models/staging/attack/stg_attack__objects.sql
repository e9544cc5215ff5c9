{# Common unpacking of every identified STIX object; the typed models below select from this. #}
with

source as (
    select * from {{ source('attack', 'attack_objects') }}
),

renamed as (
    select
        attack_version,
        stix_id,
        stix_type,
        external_id,
        payload ->> 'name' as name,
        payload ->> 'description' as description,
        (
            select r ->> 'url'
            from jsonb_array_elements(payload -> 'external_references') as r
            where r ->> 'source_name' = 'mitre-attack'
            limit 1
        ) as url,
        coalesce((payload ->> 'revoked')::boolean, false) as is_revoked,
        coalesce((payload ->> 'x_mitre_deprecated')::boolean, false) as is_deprecated,
        (payload ->> 'modified')::timestamptz as modified_at,
        payload
    from source
    where stix_type <> 'relationship'
)

select * from renamed
