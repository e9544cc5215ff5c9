{{ config(materialized='materialized_view') }}

-- The organization's current picture per tactic for dashboards: average, worst and best account, read from
-- each account's latest scores. Materialized because every dashboard load reads it; dbt refreshes it.
with

latest as (
    select
        account_id,
        max(calculated_at) as calculated_at
    from {{ ref('coverage_scores') }}
    group by account_id
)

select
    t.id as tactic_id,
    t.name as tactic_name,
    t.display_order,
    count(*) as accounts,
    round(avg(s.coverage_percentage), 2) as avg_coverage_percentage,
    min(s.coverage_percentage) as min_coverage_percentage,
    max(s.coverage_percentage) as max_coverage_percentage,
    max(s.calculated_at) as calculated_at
from {{ ref('coverage_scores') }} as s
inner join latest on s.account_id = latest.account_id and s.calculated_at = latest.calculated_at
inner join {{ ref('mitre_tactics') }} as t on s.tactic_id = t.id
group by t.id, t.name, t.display_order
