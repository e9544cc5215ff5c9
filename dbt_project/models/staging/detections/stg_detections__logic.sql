with

source as (
    select * from {{ source('detections', 'detection_logic') }}
),

renamed as (
    select
        content_hash,
        parser_version,
        detection_type,
        parse_confidence,
        monitored_entities,
        trigger_conditions,
        actions,
        severity,
        reason as parse_reason,
        parsed_at
    from source
)

select * from renamed
