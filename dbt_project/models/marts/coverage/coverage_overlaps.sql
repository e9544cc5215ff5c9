{{ config(
    indexes=[
        {'columns': ['account_id']},
        {'columns': ['redundancy_type']},
    ],
) }}

-- Techniques covered by two or more live detections in an account (spec §F). Detections watching the same
-- signals in the same region are duplicates (excessive); the same signals with different severities or
-- actions disagree (conflicting); different signals for the same technique are defence in depth (beneficial).
with

counting as (
    select
        counted.account_id,
        counted.technique_id,
        counted.detection_id,
        counted.signals_key as fingerprint,
        counted.response_key as response
    from {{ ref('int_detection_techniques_counted') }} as counted
    where counted.is_current and {{ counts_toward_coverage('counted') }}
),

per_fingerprint as (
    select
        account_id,
        technique_id,
        fingerprint,
        count(*) as detections,
        count(distinct response) as responses
    from counting
    group by 1, 2, 3
),

summary as (
    select
        account_id,
        technique_id,
        sum(detections) as detections,
        count(*) as fingerprints,
        bool_or(detections > 1 and responses > 1) as has_conflict,
        bool_or(detections > 1) as has_duplicates
    from per_fingerprint
    group by 1, 2
    having sum(detections) > 1
),

ids as (
    select
        account_id,
        technique_id,
        array_agg(detection_id order by detection_id) as detection_ids
    from counting
    group by 1, 2
)

select
    {{ stable_id(['summary.account_id', 'summary.technique_id']) }} as id,
    summary.account_id,
    summary.technique_id,
    ids.detection_ids,
    -- the share of detections that add no signal of their own
    round(1 - summary.fingerprints::numeric / summary.detections, 2)::numeric(3, 2) as redundancy_score,
    (case
        when summary.has_conflict then 'conflicting'
        when summary.has_duplicates then 'excessive'
        else 'beneficial'
    end)::varchar(20) as redundancy_type,
    case
        when summary.has_conflict
            then 'Detections watching the same events respond differently (severity or actions): align them'
        when summary.has_duplicates
            then 'Duplicate detections watch the same events: keep one, remove the others to cut alert noise'
        else 'Independent detections on different signals: defence in depth, keep'
    end as recommendation,
    current_timestamp::timestamp as identified_at
from summary
inner join ids on summary.account_id = ids.account_id and summary.technique_id = ids.technique_id
