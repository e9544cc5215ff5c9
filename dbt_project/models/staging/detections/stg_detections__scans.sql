with

source as (
    select * from {{ source('detections', 'scans') }}
),

renamed as (
    select
        scan_id,
        partition_date,
        source as collection_source,
        nullif(account_id, '') as account_identifier,
        started_at,
        completed_at,
        status as scan_status,
        detections_seen,
        services_scanned,
        regions_scanned,
        regions,
        errors,
        snapshot_location,
        snapshot_sha256,
        compressed_bytes,
        uncompressed_bytes
    from source
)

select * from renamed
