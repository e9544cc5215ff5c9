select
    pattern_id,
    scenario_key,
    record_ordinals
from {{ source('replay', 'replay_pattern_matches') }}
