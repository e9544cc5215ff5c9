{{ config(**daily_history(
    'timestamp',
    pre_hook=["set local enable_nestloop = off"],
    post_hook=["{{ add_foreign_keys() }}", "{{ ensure_index(['snapshot_id']) }}"],
    indexes=[
        {'columns': ['technique_id']},
        {'columns': ['timestamp', 'is_covered', 'technique_id', 'attack_technique_id']},
    ],
)) }}

-- Coverage per account x technique x scan day (spec §H): the time series behind trends, gaps' first/resolved
-- days and Navigator layers. A partition run replaces exactly its days (pre_hook), so re-runs and backfills
-- never duplicate; techniques without coverage have no row (score 0). Nested loops are off for this model:
-- the planner probed health once per counted detection (1M index probes; hash joins took 4.8 s against 7.8 s
-- at 1M detections, measured when this read the detections and their mappings). The (timestamp, is_covered, technique_id, attack_technique_id) index answers
-- "a day's covered techniques" from the index alone. The snapshot_id index is how the key from scan_snapshots
-- finds the rows of a replaced or pruned scan (on delete cascade).
with

covered as (
    select * from {{ ref('int_account_techniques_covered') }}
),

-- materialized: as a plain subquery the planner re-aggregated it for every covered row (34k times, 12 s of
-- a 1M-detection day)
snapshots as materialized (
    select
        account_id,
        scan_day,
        min(id::text)::uuid as snapshot_id
    from {{ ref('scan_snapshots') }}
    where {{ partition_filter('scan_day') }}
    group by 1, 2
)

select
    {{ stable_id(['covered.account_id', 'covered.technique_id', 'covered.day']) }} as id,
    covered.account_id,
    covered.technique_id,
    snapshots.snapshot_id,
    covered.detection_count::integer as detection_count,
    round(covered.coverage_score, 2)::numeric(3, 2) as coverage_score,
    covered.day::timestamp as timestamp,
    covered.attack_technique_id::varchar(20) as attack_technique_id,
    covered.is_covered
from covered
left join snapshots on covered.account_id = snapshots.account_id and covered.day = snapshots.scan_day
