select
    pattern_id,
    matcher,
    pattern,
    error as pattern_error,
    matcher_version,
    replayed_through,
    replayed_at
from {{ source('replay', 'replay_patterns') }}
