{{ config(materialized='view') }}

-- Open gaps per account (spec's v_coverage_gaps_current), in-scope techniques of the active version only,
-- with the gap's risk so the worst come first.
select
    g.account_id,
    t.technique_id,
    t.name as technique_name,
    t.description,
    g.detection_count,
    g.coverage_score,
    g.severity,
    g.risk_score,
    g.status,
    g.first_identified
from {{ ref('coverage_gaps') }} as g
inner join {{ ref('mitre_techniques') }} as t on g.technique_id = t.id
where g.status in ('open', 'acknowledged')
