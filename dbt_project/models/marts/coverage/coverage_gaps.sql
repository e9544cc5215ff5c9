{{ config(
    pre_hook="set local enable_nestloop = off",
    indexes=[
        {'columns': ['account_id']},
        {'columns': ['status']},
        {'columns': ['severity']},
        {'columns': ['risk_score']},
    ],
) }}

-- pre_hook: the planner underestimates accounts x in-scope techniques and re-probes coverage_history per
-- candidate in a nested loop (133 s at 1,000 accounts; 0.9 s hashed, docs/benchmark.md).
-- Gaps per account and in-scope technique (spec §F; docs/coverage-semantics.md "Gaps"): open where the
-- account's latest scan day leaves the technique uncovered, remediated where the technique was a gap and is
-- covered now. Triage (app.gap_triage) is people's state and is carried onto the active ATT&CK version.
with

accounts as (
    select
        accounts.id,
        accounts.provider_id,
        providers.name as provider,
        accounts.account_identifier,
        accounts.regions,
        accounts.criticality,
        accounts.environment,
        case accounts.criticality when 'high' then 1.0 when 'low' then 0.3 else 0.6 end as criticality_weight
    from {{ ref('accounts') }} as accounts
    inner join {{ ref('cloud_providers') }} as providers on accounts.provider_id = providers.id
),

scan_days as (
    -- every scan day of each account that coverage_history still holds (it is pruned after
    -- history_retention_days; older days would read as uncovered), numbered, so streaks of coverage can be
    -- found (gaps and islands)
    select
        account_id,
        day,
        dense_rank() over (partition by account_id order by day) as day_number
    from {{ ref('int_account_scan_days') }}
    where day >= (select coalesce(min(h.timestamp)::date, '-infinity') from {{ ref('coverage_history') }} as h)
),

latest as (
    -- days[n] is the account's n-th scan day: gap dates are read by position, not joined back per gap
    select
        account_id,
        max(day_number) as last_number,
        max(day) as last_day,
        array_agg(day order by day_number) as days
    from scan_days
    group by 1
),

covered_days as (
    select
        h.account_id,
        h.technique_id,
        d.day_number,
        d.day_number - row_number() over (partition by h.account_id, h.technique_id order by d.day_number) as streak
    from {{ ref('coverage_history') }} as h
    inner join scan_days as d on h.account_id = d.account_id and h.timestamp::date = d.day
    where h.is_covered
),

streaks as (
    select
        account_id,
        technique_id,
        min(day_number) as start_number,
        max(day_number) as end_number
    from covered_days
    group by account_id, technique_id, streak
),

last_streaks as (
    -- the latest streak of coverage, and the one before it
    select
        account_id,
        technique_id,
        (array_agg(start_number order by start_number desc))[1] as start_number,
        (array_agg(end_number order by start_number desc))[1] as end_number,
        (array_agg(end_number order by start_number desc))[2] as previous_end_number
    from streaks
    group by account_id, technique_id
),

current_scores as (
    select
        h.account_id,
        h.technique_id,
        h.coverage_score,
        h.detection_count
    from {{ ref('coverage_history') }} as h
    inner join latest on h.account_id = latest.account_id and h.timestamp = latest.last_day
),

scoped as (
    select * from {{ ref('int_techniques_scoped') }}
),

candidates as (
    select
        accounts.id as account_id,
        accounts.provider_id,
        accounts.provider,
        accounts.account_identifier,
        accounts.regions,
        accounts.criticality,
        accounts.environment,
        accounts.criticality_weight,
        scoped.technique_id,
        scoped.attack_technique_id,
        coalesce(cur.coverage_score, 0) as coverage_score,
        coalesce(cur.detection_count, 0) as detection_count,
        latest.days,
        latest.last_number,
        s.start_number,
        s.end_number,
        s.previous_end_number
    from accounts
    inner join latest on accounts.id = latest.account_id
    inner join scoped on accounts.provider_id = scoped.provider_id
    left join current_scores as cur on accounts.id = cur.account_id and scoped.technique_id = cur.technique_id
    left join last_streaks as s on accounts.id = s.account_id and scoped.technique_id = s.technique_id
),

gaps as (
    select
        candidates.*,
        coalesce(candidates.end_number = candidates.last_number, false) as covered_now,
        case
            -- open: from the scan day after coverage was last seen (or the first scan)
            when (candidates.end_number is distinct from candidates.last_number) then coalesce(candidates.end_number + 1, 1)
            -- remediated: the gap ran from after the previous streak (or the first scan) to this streak
            else coalesce(candidates.previous_end_number + 1, 1)
        end as first_gap_number
    from candidates
    -- covered since the first scan: never a gap
    where not coalesce(candidates.end_number = candidates.last_number and candidates.start_number = 1, false)
),

prevalence as (
    -- per provider, among its in-scope techniques: ATT&CK use on the provider's platforms plus the distinct
    -- published cloud incidents naming the technique (docs/coverage-semantics.md, "Gaps")
    select
        scoped.provider_id,
        scoped.technique_id,
        percent_rank() over (
            partition by scoped.provider_id
            order by coalesce(uses.cloud_use_count, 0) + coalesce(uses.cloud_incident_count, 0)
        )::numeric as prevalence_rank
    from scoped
    left join {{ ref('technique_prevalence') }} as uses
        on scoped.technique_id = uses.technique_id and scoped.provider_id = uses.provider_id
),

triage as (
    select
        r.item_key,
        r.mitre_technique_id,
        t.status,
        t.note
    from {{ source('app', 'gap_triage') }} as t
    inner join {{ ref('review_state_remapped') }} as r
        on
            r.item_source = 'gap_triage'
            and concat_ws('/', t.provider, t.account_id) = r.item_key
            and t.technique_id = r.recorded_technique_id
),

recommended as (
    select
        technique_id,
        jsonb_agg(
            jsonb_build_object(
                'indicator_type', indicator_type, 'indicator_value', indicator_value,
                'confidence', confidence, 'source', source
            )
            order by confidence desc, indicator_value
        ) filter (where rank <= 5) as recommended_detections
    from (
        select
            *,
            row_number() over (partition by technique_id order by confidence desc, indicator_value) as rank
        from {{ ref('threat_indicators') }}
    ) as ranked
    group by technique_id
),

scored as (
    select
        gaps.*,
        round(
            100 * gaps.criticality_weight * (0.4 + 0.6 * coalesce(prevalence.prevalence_rank, 0))
            * (1 - gaps.coverage_score),
            2
        ) as risk
    from gaps
    left join prevalence on gaps.provider_id = prevalence.provider_id and gaps.technique_id = prevalence.technique_id
)

select
    {{ stable_id(['scored.account_id', 'scored.attack_technique_id']) }} as id,
    scored.account_id,
    scored.technique_id,
    (case
        when scored.risk >= 70 then 'critical'
        when scored.risk >= 45 then 'high'
        when scored.risk >= 20 then 'medium'
        else 'low'
    end)::varchar(20) as severity,
    scored.risk::numeric(5, 2) as risk_score,
    jsonb_build_object(
        'account', scored.account_identifier, 'regions', to_jsonb(scored.regions),
        'environment', scored.environment
    ) as affected_assets,
    coalesce(recommended.recommended_detections, '[]'::jsonb) as recommended_detections,
    case
        when scored.covered_now
            then
                'Activity under ' || scored.attack_technique_id || ' is detected again in a ' || scored.criticality
                || '-criticality account'
        else
            'Activity under ' || scored.attack_technique_id || ' would go unseen in a ' || scored.criticality
            || '-criticality account' || case
                when scored.coverage_score > 0
                    then ' (' || round(100 * scored.coverage_score) || '% of its sub-techniques are covered)'
                else ''
            end
    end as business_impact,
    -- coverage now closes the gap whatever its triage said (acknowledged, accepted_risk); while it is open,
    -- people's triage wins over the computed 'open'
    (case
        when scored.covered_now then 'remediated'
        when triage.status is not null then triage.status
        else 'open'
    end)::varchar(20) as status,
    scored.days[scored.first_gap_number]::timestamp as first_identified,
    case when scored.covered_now then scored.days[scored.start_number]::timestamp end as resolved_at,
    scored.attack_technique_id::varchar(20) as attack_technique_id,
    scored.coverage_score::numeric(3, 2) as coverage_score,
    scored.detection_count::integer as detection_count,
    triage.note as triage_note
from scored
left join recommended on scored.technique_id = recommended.technique_id
left join triage
    on
        concat_ws('/', scored.provider, scored.account_identifier) = triage.item_key
        and scored.technique_id = triage.mitre_technique_id
