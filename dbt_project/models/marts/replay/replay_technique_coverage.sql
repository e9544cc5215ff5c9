{{ config(indexes=[{'columns': ['account_id', 'replay_status']}, {'columns': ['technique_id']}]) }}

-- Per account x in-scope technique, claimed and replay-confirmed coverage side by side (docs/replay.md).
-- Claimed: covered on the account's latest scan day (coverage_history, docs/coverage-semantics.md). Confirmed:
-- a detection that alerts today (current, enabled, not broken) fires on a scenario of the technique, whatever
-- it is mapped to. A technique is confirmed by its own scenarios only: a sub-technique's scenario confirms the
-- sub-technique, a parent's the parent (TrailDiscover lists both on most events).
with

latest as (
    select
        account_id,
        max(calculated_at) as calculated_at
    from {{ ref('coverage_scores') }}
    group by account_id
),

claimed as (
    select
        h.account_id,
        h.technique_id,
        h.is_covered
    from {{ ref('coverage_history') }} as h
    inner join latest on h.account_id = latest.account_id and h.timestamp = latest.calculated_at
),

scenarios as (
    select
        technique_id,
        count(*) as scenario_count
    from {{ ref('replay_scenario_techniques') }}
    group by technique_id
),

-- account x technique x pattern: small, as both sides are per pattern, not per detection
pairs as (
    select
        alerting.account_id,
        pt.technique_id,
        alerting.detections,
        alerting.detection_names,
        pt.firing_scenarios
    from {{ ref('int_replay_alerting_patterns') }} as alerting
    inner join {{ ref('int_replay_pattern_techniques') }} as pt on alerting.pattern_id = pt.pattern_id
),

scenarios_fired as (
    select
        pairs.account_id,
        pairs.technique_id,
        count(distinct fired.scenario_key) as scenarios_fired
    from pairs
    cross join lateral unnest(pairs.firing_scenarios) as fired (scenario_key)
    group by pairs.account_id, pairs.technique_id
),

names as (
    select
        pairs.account_id,
        pairs.technique_id,
        (array_agg(distinct named.name order by named.name))[1:5] as firing_detection_names
    from pairs
    cross join lateral unnest(pairs.detection_names) as named (name)
    group by pairs.account_id, pairs.technique_id
),

firing as (
    select
        pairs.account_id,
        pairs.technique_id,
        sum(pairs.detections) as firing_detections,
        min(scenarios_fired.scenarios_fired) as scenarios_fired,
        min(names.firing_detection_names) as firing_detection_names
    from pairs
    inner join scenarios_fired
        on pairs.account_id = scenarios_fired.account_id and pairs.technique_id = scenarios_fired.technique_id
    left join names on pairs.account_id = names.account_id and pairs.technique_id = names.technique_id
    group by pairs.account_id, pairs.technique_id
)

select
    a.id as account_id,
    s.technique_id,
    s.attack_technique_id::varchar(20) as attack_technique_id,
    coalesce(claimed.is_covered, false) as claimed_covered,
    coalesce(scenarios.scenario_count, 0)::integer as scenario_count,
    firing.firing_detections is not null as replay_confirmed,
    coalesce(firing.firing_detections, 0)::integer as firing_detections,
    coalesce(firing.scenarios_fired, 0)::integer as scenarios_fired,
    firing.firing_detection_names,
    (case
        when coalesce(claimed.is_covered, false) and firing.firing_detections is not null then 'confirmed'
        when coalesce(claimed.is_covered, false) and scenarios.scenario_count > 0 then 'not_confirmed'
        when coalesce(claimed.is_covered, false) then 'claimed_no_scenario'
        when firing.firing_detections is not null then 'fires_unclaimed'
        else 'not_covered'
    end)::varchar(30) as replay_status,
    latest.calculated_at as scan_day
from {{ ref('accounts') }} as a
inner join {{ ref('cloud_providers') }} as p on a.provider_id = p.id
inner join {{ ref('int_techniques_scoped') }} as s on a.provider_id = s.provider_id
left join latest on a.id = latest.account_id
left join claimed on a.id = claimed.account_id and s.technique_id = claimed.technique_id
-- scenarios are CloudTrail records: they can confirm or refute AWS accounts' claims only
left join scenarios on s.technique_id = scenarios.technique_id and p.name = 'aws'
left join firing on a.id = firing.account_id and s.technique_id = firing.technique_id
