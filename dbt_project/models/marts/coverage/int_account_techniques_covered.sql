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

live as (
    select
        detections.id,
        detections.account_id,
        detections.valid_from,
        detections.valid_to,
        {{ detection_status('types.type_name', "detections.raw_config -> 'api_object'") }} as configured_status
    from {{ ref('detections') }} as detections
    inner join {{ ref('detection_types') }} as types on detections.detection_type_id = types.id
    where detections.account_id is not null
),

direct as (
    select
        days.day,
        days.account_id,
        days.provider_id,
        mappings.technique_id,
        count(distinct live.id) as detection_count
    from days
    inner join live
        on
            days.account_id = live.account_id
            and days.day >= live.valid_from
            and (live.valid_to is null or days.day < live.valid_to)
    inner join {{ ref('detection_mappings') }} as mappings on live.id = mappings.detection_id
    -- health is judged on the live configuration; earlier versions have no health row and count as unknown
    left join {{ ref('detection_health') }} as health on live.id = health.detection_id
    where
        live.configured_status = 'enabled'
        and coalesce(health.status, 'unknown') <> 'broken'
        and mappings.validation_status <> 'disputed'
        and (
            mappings.validation_status = 'validated'
            or mappings.confidence_score >= {{ var('coverage_min_confidence') }}
        )
    group by 1, 2, 3, 4
),

scoped as (
    select * from {{ ref('int_techniques_scoped') }}
),

direct_scoped as (
    select
        direct.*,
        scoped.attack_technique_id,
        scoped.parent_technique_id,
        scoped.is_subtechnique
    from direct
    inner join scoped on direct.provider_id = scoped.provider_id and direct.technique_id = scoped.technique_id
),

via_subtechniques as (
    select
        subs.day,
        subs.account_id,
        subs.provider_id,
        parents.technique_id,
        count(*) as covered_subtechniques,
        sum(subs.detection_count) as detection_count
    from direct_scoped as subs
    inner join scoped as parents
        on
            subs.provider_id = parents.provider_id
            and subs.parent_technique_id = parents.attack_technique_id
    where subs.is_subtechnique
    group by 1, 2, 3, 4
),

combined as (
    select
        coalesce(d.day, v.day) as day,
        coalesce(d.account_id, v.account_id) as account_id,
        coalesce(d.provider_id, v.provider_id) as provider_id,
        coalesce(d.technique_id, v.technique_id) as technique_id,
        coalesce(d.detection_count, 0) + coalesce(v.detection_count, 0) as detection_count,
        d.technique_id is not null as directly_covered,
        coalesce(v.covered_subtechniques, 0) as covered_subtechniques
    from direct_scoped as d
    full outer join via_subtechniques as v
        on d.day = v.day and d.account_id = v.account_id and d.technique_id = v.technique_id
)

select
    combined.day,
    combined.account_id,
    combined.technique_id,
    scoped.attack_technique_id,
    combined.detection_count,
    (
        combined.directly_covered
        or (scoped.in_scope_subtechniques > 0 and combined.covered_subtechniques = scoped.in_scope_subtechniques)
    ) as is_covered,
    case
        when combined.directly_covered then 1.0
        when scoped.in_scope_subtechniques > 0
            then combined.covered_subtechniques::numeric / scoped.in_scope_subtechniques
        else 0
    end as coverage_score
from combined
inner join scoped on combined.provider_id = scoped.provider_id and combined.technique_id = scoped.technique_id
