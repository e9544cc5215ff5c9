with

source as (
    select * from {{ source('detections', 'detection_changes') }}
),

renamed as (
    select
        md5(concat_ws('|', source, account_id, region, service, native_id)) as detection_key,
        partition_date,
        changed_xid,
        changed_at
    from source
)

select * from renamed
