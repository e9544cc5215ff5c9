{{ config(
    indexes=[{'columns': ['snapshot_id'], 'unique': true}],
    tags=['partitioned'],
) }}

-- Built with the partitioned models (a full rebuild each time, it is small): its foreign key test needs
-- scan_snapshots, which the daily partition builds.

-- Where each scan's full compressed copy lives (spec §H), so any day can be re-derived.
select
    scan_id as snapshot_id,
    snapshot_location::varchar(500) as storage_location,
    compressed_bytes as compressed_size_bytes,
    uncompressed_bytes as uncompressed_size_bytes,
    snapshot_sha256::varchar(64) as checksum
from {{ ref('stg_detections__scans') }}
where snapshot_location is not null
