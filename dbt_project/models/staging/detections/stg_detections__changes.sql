with

source as (
    select * from {{ source('detections', 'detection_changes') }}
),

renamed as (
    select
        {{ detection_key() }} as detection_key,
        partition_date,
        changed_xid,
        changed_at
    from source
)

select * from renamed
