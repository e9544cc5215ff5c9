-- One row per replay scenario (docs/replay.md): the technique ids as its source states them, the events its
-- records hold, its incidents and provenance. A knowledge source like the ATT&CK bundles: what it says is
-- traceable to a file, its licence and the upstream commit.
with

events as (
    select
        scenario_key,
        array_agg(distinct event_source || ':' || event_name order by event_source || ':' || event_name)
            as event_names
    from {{ ref('stg_replay__scenario_records') }}
    group by scenario_key
)

select
    s.scenario_key::varchar(300) as scenario_key,
    s.scenario_source::varchar(100) as scenario_source,
    s.scenario_name::varchar(300) as scenario_name,
    s.description,
    s.technique_ids,
    events.event_names,
    s.record_count,
    jsonb_array_length(s.incidents) as incident_count,
    s.incidents,
    s.licence,
    s.upstream,
    s.source_files,
    s.provenance,
    s.loaded_at
from {{ ref('stg_replay__scenarios') }} as s
left join events on s.scenario_key = events.scenario_key
