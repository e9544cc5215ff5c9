{{ config(indexes=[{'columns': ['detection_id']}, {'columns': ['scenario_key', 'fired']}]) }}

-- Per detection version x scenario (docs/replay.md): did the version's pattern fire on the scenario's CloudTrail
-- records, and on which. Rows exist where it fired, and where it did not but the scenario is one of a technique
-- the version is mapped to (that silence is what makes a mapping not_confirmed); every other pair did not fire.
-- Replay is per pattern (raw.replay_pattern_matches), so this is a join, never a replay per detection.
with

replayable as (
    select
        d.id as detection_id,
        d.account_id,
        c.pattern_id
    from {{ ref('detections') }} as d
    inner join {{ ref('stg_replay__contents') }} as c on d.content_hash = c.content_hash
    inner join {{ ref('stg_replay__patterns') }} as p on c.pattern_id = p.pattern_id
    where d.account_id is not null and p.pattern_error is null
),

-- the matched records' event names, once per pattern and scenario rather than once per detection
pattern_matches as (
    select
        m.pattern_id,
        m.scenario_key,
        m.record_ordinals,
        array_agg(distinct r.event_name order by r.event_name) as matched_event_names
    from {{ ref('stg_replay__pattern_matches') }} as m
    cross join lateral unnest(m.record_ordinals) as o (ordinal)
    inner join {{ ref('stg_replay__scenario_records') }} as r
        on m.scenario_key = r.scenario_key and o.ordinal = r.ordinal
    group by m.pattern_id, m.scenario_key, m.record_ordinals
),

fired as (
    select
        replayable.detection_id,
        replayable.account_id,
        pattern_matches.scenario_key,
        pattern_matches.record_ordinals,
        pattern_matches.matched_event_names
    from replayable
    inner join pattern_matches on replayable.pattern_id = pattern_matches.pattern_id
),

expected as (
    select distinct
        replayable.detection_id,
        replayable.account_id,
        st.scenario_key
    from replayable
    inner join {{ ref('detection_mappings') }} as dm on replayable.detection_id = dm.detection_id
    inner join {{ ref('replay_scenario_techniques') }} as st on dm.technique_id = st.technique_id
),

silent as (
    select
        expected.detection_id,
        expected.account_id,
        expected.scenario_key
    from expected
    where not exists (
        select from fired
        where fired.detection_id = expected.detection_id and fired.scenario_key = expected.scenario_key
    )
)

select
    {{ stable_id(['detection_id', 'scenario_key']) }} as id,
    detection_id,
    account_id,
    scenario_key::varchar(300) as scenario_key,
    true as fired,
    record_ordinals as matched_records,
    matched_event_names
from fired
union all
select
    {{ stable_id(['detection_id', 'scenario_key']) }} as id,
    detection_id,
    account_id,
    scenario_key::varchar(300) as scenario_key,
    false as fired,
    null::integer[] as matched_records,
    null::text[] as matched_event_names
from silent
