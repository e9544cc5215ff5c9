-- One plain select, not the import-CTE style: PostgreSQL does not merge a view holding a WITH into the query
-- that reads it, so a join through it could not use the raw table's indexes (docs/decisions.md).
select
    source as collection_source,
    {{ account_provider('account_id') }} as provider,
    nullif(account_id, '') as account_identifier,
    nullif(region, '') as region,
    service,
    detection_type,
    native_id,
    name,
    content_hash,
    state_hash,
    valid_from,
    valid_to,
    valid_to is null as is_current,
    {{ detection_key() }} as detection_key
from {{ source('detections', 'detection_presence') }}
