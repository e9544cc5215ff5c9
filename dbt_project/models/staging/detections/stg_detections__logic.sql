-- One plain select, not the import-CTE style: PostgreSQL does not merge a view holding a WITH into the query
-- that reads it, so a join through it could not use the raw table's indexes (docs/decisions.md).
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
from {{ source('detections', 'detection_logic') }}
