with

source as (
    select * from {{ source('detections', 'detection_signals') }}
),

renamed as (
    select
        content_hash,
        signal_type,
        value as signal_value,
        qualifier as signal_qualifier
    from source
)

select * from renamed
