with

source as (
    select * from {{ source('detections', 'detection_contents') }}
),

renamed as (
    select
        content_hash,
        kind as content_kind,
        provider,
        service,
        detection_type,
        document,
        document -> 'api_object' as api_object,
        document -> 'related' as related,
        first_seen
    from source
)

select * from renamed
