{{ config(materialized='view') }}

-- Current coverage per account (spec's v_account_coverage), on the semantics of coverage_scores rather than
-- the spec's raw count of mapped techniques: in scope, current version, roll-up without false parents; beside it,
-- what replay confirms (replay_technique_coverage, docs/replay.md).
with

-- not materialized: referenced twice, it would otherwise be computed for every account before the caller's
-- account filter applies (a scan of all scores that grows with the history: 40 ms at 1M with 11 days);
-- inlined, one account's latest day is an index-only read of (account_id, calculated_at): 14 ms
latest as not materialized (
    select
        account_id,
        max(calculated_at) as calculated_at
    from {{ ref('coverage_scores') }}
    group by account_id
),

covered as (
    select
        h.account_id,
        count(*) filter (where h.is_covered) as covered_techniques
    from {{ ref('coverage_history') }} as h
    inner join latest on h.account_id = latest.account_id and h.timestamp = latest.calculated_at
    group by h.account_id
),

scope as (
    select
        provider_id,
        count(*) as total_techniques
    from {{ ref('int_techniques_scoped') }}
    group by provider_id
),

-- not materialized, like latest: one account's rows through the (account_id, replay_status) index
replay as not materialized (
    select
        account_id,
        count(*) filter (where replay_confirmed) as replay_confirmed_techniques,
        count(*) filter (where replay_status = 'not_confirmed') as claimed_not_confirmed_techniques
    from {{ ref('replay_technique_coverage') }}
    group by account_id
),

enabled as (
    select
        account_id,
        count(*) as total_detections
    from {{ ref('detections') }}
    where status = 'enabled'
    group by account_id
)

select
    a.id as account_id,
    a.account_name,
    coalesce(enabled.total_detections, 0) as total_detections,
    coalesce(covered.covered_techniques, 0) as covered_techniques,
    scope.total_techniques,
    round(100.0 * coalesce(covered.covered_techniques, 0) / nullif(scope.total_techniques, 0), 2)
        as coverage_percentage,
    latest.calculated_at,
    coalesce(replay.replay_confirmed_techniques, 0) as replay_confirmed_techniques,
    coalesce(replay.claimed_not_confirmed_techniques, 0) as claimed_not_confirmed_techniques
from {{ ref('accounts') }} as a
left join latest on a.id = latest.account_id
left join covered on a.id = covered.account_id
left join scope on a.provider_id = scope.provider_id
left join enabled on a.id = enabled.account_id
left join replay on a.id = replay.account_id
