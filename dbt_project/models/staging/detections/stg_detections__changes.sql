-- One plain select, not the import-CTE style: PostgreSQL does not merge a view holding a WITH into the query
-- that reads it, so a join through it could not use the raw table's indexes (docs/decisions.md).
select
    {{ detection_key() }} as detection_key,
    partition_date,
    changed_xid,
    changed_at
from {{ source('detections', 'detection_changes') }}
