{%- set scope = {'inputs': 'int_replay_inputs_fingerprinted', 'parsed_from': 'stg_replay__contents',
                  'parsed_at': 'replayed_at', 'upstream': 'detections', 'column': 'detection_id'} %}
{%- set materialization = detection_scope_intermediate(scope) %}
{%- do materialization.update(indexes=[{'columns': ['account_id']}, {'columns': ['scenario_key']}]) %}
{{ config(**materialization) }}
{%- set state = detection_build_state(scope) %}

-- Per detection version x scenario it fires on (docs/replay.md), with the records it matched: the per-pattern
-- matches (raw.replay_pattern_matches) fanned out to the versions carrying each pattern, fired pairs only. A
-- replayable version (detection_mapping_validations, replay_note) with no row for a scenario did not fire on it.
-- A daily run fans out only the versions derived again or whose configuration was replayed again; new scenarios
-- or matches mean one full pass (int_replay_inputs_fingerprinted, macros/detection_scope.sql).
with

-- the matched records' event names, once per pattern and scenario
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
)

select
    d.id as detection_id,
    d.account_id,
    pattern_matches.scenario_key::varchar(300) as scenario_key,
    pattern_matches.record_ordinals as matched_records,
    pattern_matches.matched_event_names
from {{ ref('detections') }} as d
inner join {{ ref('stg_replay__contents') }} as c on d.content_hash = c.content_hash
inner join pattern_matches on c.pattern_id = pattern_matches.pattern_id
where d.account_id is not null and {{ in_detection_scope(state, 'd.id') }}
