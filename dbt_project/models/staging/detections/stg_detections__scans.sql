-- One plain select, not the import-CTE style: PostgreSQL does not merge a view holding a WITH into the query
-- that reads it, so a join through it could not use the raw table's indexes (docs/decisions.md).
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
from {{ source('detections', 'scans') }}
