with

source as (
    select * from {{ source('detections', 'declared_mappings') }}
),

renamed as (
    select
        content_hash,
        technique_id as attack_technique_id,
        source_tag
    from source
)

select * from renamed
