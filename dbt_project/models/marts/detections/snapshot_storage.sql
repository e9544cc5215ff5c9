{{ config(
    indexes=[{'columns': ['snapshot_id'], 'unique': true}],
    tags=['partitioned'],
    post_hook=["{{ add_foreign_keys() }}"],
) }}

-- Built with the partitioned models, after scan_snapshots (a full rebuild each time, it is small): only the scans
-- scan_snapshots holds (built, within retention), which its foreign key requires.

-- Where each scan's full compressed copy lives (spec §H), so any day can be re-derived.
select
    scan_id as snapshot_id,
    snapshot_location::varchar(500) as storage_location,
    compressed_bytes as compressed_size_bytes,
    uncompressed_bytes as uncompressed_size_bytes,
    snapshot_sha256::varchar(64) as checksum
from {{ ref('stg_detections__scans') }}
where snapshot_location is not null and scan_id in (select s.id from {{ ref('scan_snapshots') }} as s)
