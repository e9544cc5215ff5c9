{%- set scope = {'inputs': 'int_replay_inputs_fingerprinted', 'parsed_from': 'content_technique_mappings',
                  'upstream': 'detection_mappings', 'column': 'detection_id'} %}
{%- set materialization = detection_scope_intermediate(scope) %}
{%- do materialization.update(indexes=[{'columns': ['validation_status', 'validation_method']}]) %}
{{ config(**materialization) }}
{%- set state = detection_build_state(scope) %}

-- Each mapping of a replayable detection (EventBridge rule, CloudWatch metric filter) with its validation after
-- replay (docs/replay.md): a person's verdict (or manual mapping) wins; otherwise 'validated' by 'test_trigger'
-- when the version fires on a scenario of the mapped technique, 'not_confirmed' when scenarios of the technique
-- exist and it fires on none, and the mapping's own status when replay cannot say (no scenario for the
-- technique, no pattern to replay, a pattern the matcher rejects), with the reason in replay_note. A daily run
-- computes only the detections whose mappings were computed again (as int_detection_techniques_counted does); a
-- change of scenarios, of the ATT&CK version or of the replay version means one full pass
-- (int_replay_inputs_fingerprinted, macros/detection_scope.sql).
with

mappings as (
    select
        dm.id as mapping_id,
        dm.detection_id,
        dm.technique_id,
        dm.attack_technique_id,
        dm.validation_status as mapping_status,
        dm.validated_by is not null and dm.validation_status in ('validated', 'disputed') as decided_by_person,
        dm.validated_by,
        dm.validated_at,
        c.pattern_id,
        c.replay_note,
        p.pattern_error,
        p.replayed_at
    from {{ ref('detection_mappings') }} as dm
    -- each version's content hash from the narrow logic table, not the detections (their documents are ~1 GB
    -- at 1M)
    inner join {{ ref('int_detection_logic_joined') }} as d on dm.detection_id = d.detection_id
    inner join {{ ref('stg_replay__contents') }} as c on d.content_hash = c.content_hash
    left join {{ ref('stg_replay__patterns') }} as p on c.pattern_id = p.pattern_id
    where {{ in_detection_scope(state, 'dm.detection_id') }}
),

technique_scenarios as (
    select
        technique_id,
        count(*) as scenarios
    from {{ ref('replay_scenario_techniques') }}
    group by technique_id
),

fired as (
    select
        pattern_id,
        technique_id,
        firing_scenarios
    from {{ ref('int_replay_pattern_techniques') }}
),

judged as (
    select
        m.*,
        coalesce(ts.scenarios, 0) as technique_scenarios,
        coalesce(cardinality(f.firing_scenarios), 0) as scenarios_fired,
        f.firing_scenarios,
        m.pattern_id is not null and m.pattern_error is null and ts.scenarios > 0 as replay_decides
    from mappings as m
    left join technique_scenarios as ts on m.technique_id = ts.technique_id
    left join fired as f on m.pattern_id = f.pattern_id and m.technique_id = f.technique_id
)

select
    mapping_id,
    detection_id,
    technique_id,
    attack_technique_id,
    mapping_status::varchar(20) as mapping_status,
    (case
        when decided_by_person then mapping_status
        when replay_decides and scenarios_fired > 0 then 'validated'
        when replay_decides then 'not_confirmed'
        else mapping_status
    end)::varchar(20) as validation_status,
    (case when replay_decides and not decided_by_person then 'test_trigger' end)::varchar(50) as validation_method,
    (case
        when decided_by_person then validated_by
        when replay_decides then 'replay'
    end)::varchar(255) as validated_by,
    (case
        when decided_by_person then validated_at
        when replay_decides then replayed_at
    end)::timestamp as validated_at,
    technique_scenarios,
    scenarios_fired,
    firing_scenarios,
    (case
        when pattern_id is null then replay_note
        when pattern_error is not null then 'pattern not replayable: ' || pattern_error
        when technique_scenarios = 0 then 'no replay scenario for ' || attack_technique_id
        when scenarios_fired = 0
            then 'fires on none of the ' || technique_scenarios || ' scenarios of ' || attack_technique_id
    end)::text as replay_note
from judged
