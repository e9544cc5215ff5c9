-- One plain select, not the import-CTE style: the marts join it by content hash (docs/decisions.md).
select
    content_hash,
    pattern_id,
    note as replay_note,
    replay_version,
    replayed_at
from {{ source('replay', 'replay_contents') }}
