-- One plain select, not the import-CTE style: PostgreSQL does not merge a view holding a WITH into the query
-- that reads it, so a join through it could not use the raw table's indexes (docs/decisions.md).
select
    content_hash,
    kind as content_kind,
    provider,
    service,
    detection_type,
    document,
    document -> 'api_object' as api_object,
    document -> 'related' as related,
    first_seen
from {{ source('detections', 'detection_contents') }}
