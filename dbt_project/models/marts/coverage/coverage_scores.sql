{# The spec's account index is widened to (account_id, calculated_at), so an account's latest day
   (v_account_coverage) is read from it; created by a hook, so it reaches tables built before it (where the
   narrower one stays). #}
{{ config(**daily_history(
    'calculated_at',
    pre_hook=["set local enable_nestloop = off"],
    post_hook=["{{ add_foreign_keys() }}", "{{ ensure_index(['account_id', 'calculated_at']) }}"],
    indexes=[{'columns': ['calculated_at']}],
)) }}

-- Coverage per account x tactic x scan day (spec §F; docs/coverage-semantics.md "Scores per tactic").
-- Nested loops are off, as in coverage_history, which reads the same detections: the planner expects ~5k live
-- detections on the day (938k at 1M) and probes mappings and health once per detection. At 1M, the day's select
-- alone: 2.3 / 2.1 s -> 0.31 / 0.30 s, the same 10,802 rows.
with

days as (
    select * from {{ ref('int_account_scan_days') }}
    where {{ partition_filter('day') }}
),

scoped_by_tactic as (
    select
        scoped.provider_id,
        scoped.version_id,
        scoped.technique_id,
        tt.tactic_id
    from {{ ref('int_techniques_scoped') }} as scoped
    inner join {{ ref('technique_tactics') }} as tt on scoped.technique_id = tt.technique_id
),

history as (
    select
        account_id,
        technique_id,
        timestamp::date as day
    from {{ ref('coverage_history') }}
    where {{ partition_filter('timestamp::date') }} and is_covered
),

per_tactic as (
    select
        days.day,
        days.account_id,
        s.tactic_id,
        min(s.version_id) as version_id,
        count(*) as total_techniques,
        count(history.technique_id) as covered_techniques
    from days
    inner join scoped_by_tactic as s on days.provider_id = s.provider_id
    left join history
        on days.account_id = history.account_id and days.day = history.day and s.technique_id = history.technique_id
    group by 1, 2, 3
)

select
    {{ stable_id(['account_id', 'tactic_id', 'day']) }} as id,
    account_id,
    tactic_id,
    round(100.0 * covered_techniques / nullif(total_techniques, 0), 2)::numeric(5, 2) as coverage_percentage,
    covered_techniques::integer as covered_techniques,
    total_techniques::integer as total_techniques,
    day::timestamp as calculated_at,
    version_id as mitre_version_id
from per_tactic
