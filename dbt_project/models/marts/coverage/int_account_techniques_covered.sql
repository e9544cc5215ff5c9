{{ config(materialized='ephemeral') }}

-- Per scan day in the partition window, account and in-scope technique: how many counting detections cover
-- it directly, and the roll-up of docs/coverage-semantics.md (a sub-technique only by itself; a parent by
-- itself or by all of its in-scope sub-techniques, partial credit otherwise). Only techniques with some
-- coverage get a row: absence means a score of 0, which keeps the history proportional to coverage.
with

days as (
    select * from {{ ref('int_account_scan_days') }}
    where {{ partition_filter('day') }}
),

counting as (
    -- one row per scan day, account, technique and detection that counts towards it: unique without a
    -- distinct (which spilled ~700k rows to disk at 1M), as a scan day has one row per account and the counted
    -- table one per version and technique (detection_mappings' unique key)
    select
        days.day,
        days.account_id,
        days.provider_id,
        counted.technique_id,
        counted.detection_id
    from days
    inner join {{ ref('int_detection_techniques_counted') }} as counted
        on
            days.account_id = counted.account_id
            and days.day >= counted.valid_from
            and (counted.valid_to is null or days.day < counted.valid_to)
    where
        -- versions that ended before the window cannot count in it
        (counted.valid_to is null or counted.valid_to > {{ window_start() }})
        and {{ counts_toward_coverage('counted') }}
),

scoped as (
    select * from {{ ref('int_techniques_scoped') }}
),

-- each in-scope sub-technique with its in-scope parent, paired before meeting the detections (materialized, so
-- it stays that way): with the three joined in one step, the planner expected ~1k counting rows (706k at 1M)
-- and paired every one with every parent of its provider first, 93M rows and 13 s of an 18 s model
sub_parents as materialized (
    select
        subs.provider_id,
        subs.technique_id,
        parents.technique_id as parent_id
    from scoped as subs
    inner join scoped as parents
        on subs.provider_id = parents.provider_id and subs.parent_technique_id = parents.attack_technique_id
    where subs.is_subtechnique
),

credited as (
    -- each in-scope technique a detection covers credits that technique directly, and a sub-technique also
    -- credits its parent (as one covered sub-technique, never as direct coverage)
    select
        counting.day,
        counting.account_id,
        counting.provider_id,
        counting.technique_id,
        counting.detection_id,
        null::bigint as via_subtechnique_id
    from counting
    inner join scoped on counting.provider_id = scoped.provider_id and counting.technique_id = scoped.technique_id
    union all
    select
        counting.day,
        counting.account_id,
        counting.provider_id,
        sub_parents.parent_id as technique_id,
        counting.detection_id,
        counting.technique_id as via_subtechnique_id
    from counting
    inner join sub_parents
        on counting.provider_id = sub_parents.provider_id and counting.technique_id = sub_parents.technique_id
),

combined as (
    -- a detection on the parent and on two of its sub-techniques is one detection of the parent
    select
        day,
        account_id,
        provider_id,
        technique_id,
        count(distinct detection_id) as detection_count,
        bool_or(via_subtechnique_id is null) as directly_covered,
        count(distinct via_subtechnique_id) as covered_subtechniques
    from credited
    group by 1, 2, 3, 4
)

select
    combined.day,
    combined.account_id,
    combined.technique_id,
    scoped.attack_technique_id,
    combined.detection_count,
    -- a parent with a single in-scope sub-technique is more than that variant (T1485 Data Destruction is not
    -- T1485.001 Lifecycle-Triggered Deletion alone): the roll-up needs two or more, and one earns at most half
    (
        combined.directly_covered
        or (scoped.in_scope_subtechniques > 1 and combined.covered_subtechniques = scoped.in_scope_subtechniques)
    ) as is_covered,
    case
        when combined.directly_covered then 1.0
        when scoped.in_scope_subtechniques > 0
            then combined.covered_subtechniques::numeric / greatest(scoped.in_scope_subtechniques, 2)
        else 0
    end as coverage_score
from combined
inner join scoped on combined.provider_id = scoped.provider_id and combined.technique_id = scoped.technique_id
