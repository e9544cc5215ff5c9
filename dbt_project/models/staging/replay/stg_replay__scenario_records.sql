select
    scenario_key,
    ordinal,
    source_file,
    event_source,
    event_name,
    record
from {{ source('replay', 'replay_scenario_records') }}
