select
    scenario_key,
    scenario_source,
    name as scenario_name,
    description,
    technique_ids,
    incidents,
    source_files,
    provenance ->> 'licence' as licence,
    provenance ->> 'upstream' as upstream,
    provenance,
    record_count,
    load_seq,
    loaded_at
from {{ source('replay', 'replay_scenarios') }}
