{{ config(**daily_history('calculated_at')) }}

-- The organization's coverage per scan day, one row a day: what a 30-day trend reads. Aggregating every account's
-- tactic scores at query time read 10,802 rows a day at 1M detections and grew with the history (100.5 ms p95 with
-- 11 days in, docs/benchmark.md); this appends one row per day from the day's scores, written beside them.
select
    calculated_at,
    count(distinct account_id)::integer as accounts,
    round(avg(coverage_percentage), 2)::numeric(5, 2) as avg_tactic_coverage_percentage,
    min(coverage_percentage)::numeric(5, 2) as min_tactic_coverage_percentage
from {{ ref('coverage_scores') }}
where {{ partition_filter('calculated_at::date') }}
group by calculated_at
