-- One plain select, not the import-CTE style: PostgreSQL does not merge a view holding a WITH into the query
-- that reads it, so a join through it could not use the raw table's indexes (docs/decisions.md).
select
    content_hash,
    signal_type,
    value as signal_value,
    qualifier as signal_qualifier
from {{ source('detections', 'detection_signals') }}
