{# Indicator candidates from the knowledge sources, each with the ATT&CK version it was written against.
   Curated rows carry their own confidence; analytic, CTID, TrailDiscover and Stratus Red Team confidence is set
   per source here, calibrated with make eval (docs/mapping.md, "Confidence scale").
   var knowledge_sources_off: sources switched off (make eval scores a reference with its own knowledge off, so a
   source never vouches for itself). #}
with

analytics as (
    select * from {{ ref('int_analytic_api_calls_extracted') }}
),

ctid as (
    select * from {{ ref('stg_attack__ctid_mappings') }}
    where mapping_type = 'technique_scores' and score_category = 'detect' and technique_id is not null
),

curated as (
    select
        indicator_ref,
        provider,
        indicator_type,
        indicator_value,
        technique_id,
        attack_version,
        confidence,
        context_requirements
    from {{ ref('curated_threat_indicators_seed') }}
    union all
    select
        indicator_ref,
        provider,
        indicator_type,
        indicator_value,
        technique_id,
        attack_version,
        confidence,
        context_requirements
    from {{ ref('curated_gcp_azure_indicators_seed') }}
),

capability_families as (
    select * from {{ ref('ctid_capability_families_seed') }}
),

traildiscover as (
    -- TrailDiscover names no ATT&CK version: its ids are read on the active one. A parent listed beside one
    -- of its own sub-techniques (StopLogging: T1562, T1562.001, T1562.008) is ATT&CK's hierarchy, not a claim
    -- on the parent itself, which a mapping to it would cover (docs/coverage-semantics.md, roll-up). Lambda's
    -- versioned names are keyed by operation, as the parser reads them
    select
        events.provider,
        events.event_source || ':' || {{ cloudtrail_operation('events.event_source', 'events.event_name') }}
            as indicator_value,
        named.technique_id,
        active.attack_version,
        events.used_in_wild,
        events.file_path
    from {{ ref('stg_attack__traildiscover_events') }} as events
    cross join unnest(events.technique_ids) as named (technique_id)
    cross join {{ ref('stg_attack__active_version') }} as active
    where not exists (
        select 1 from unnest(events.technique_ids) as sub (technique_id)
        where sub.technique_id like named.technique_id || '.%'
    )
),

stratus as (
    -- Stratus names no ATT&CK version: its ids are read on the active one. Set-up events (is_setup) and
    -- techniques without an ATT&CK id are not indicators
    select distinct
        events.provider,
        events.event_source || ':' || events.event_name as indicator_value,
        events.technique_id,
        active.attack_version,
        events.stratus_id || ' ' || events.detonation_log as source_ref
    from {{ ref('int_stratus_event_techniques') }} as events
    cross join {{ ref('stg_attack__active_version') }} as active
    where events.technique_id is not null and not events.is_setup
),

ctid_values as (
    -- GuardDuty finding types, Config rule names and Security Hub control ids named in the mapping comments
    select
        ctid.*,
        'finding_type' as indicator_type,
        rtrim(m.match[1], '.,;') as indicator_value
    from ctid
    cross join
        lateral regexp_matches(ctid.comments, '\m([A-Z][A-Za-z0-9]*:[A-Za-z0-9]+/[A-Za-z0-9.!_-]+)', 'g')
            as m (match)
    where ctid.capability_group = 'amazon_guardduty'
    union all
    -- Google Cloud and Azure: a capability row is about one finding family (a Defender plan, an SCC service),
    -- assigned per capability or per capability and technique (ctid_capability_families_seed)
    select
        ctid.*,
        'finding_type',
        families.finding_family
    from ctid
    inner join capability_families as families
        on
            ctid.provider = families.provider
            and ctid.capability_id = families.capability_id
            and (families.technique_id is null or ctid.technique_id = families.technique_id)
    union all
    select
        ctid.*,
        'config_rule',
        upper(replace(m.match[1], '-', '_'))
    from ctid
    cross join lateral regexp_matches(ctid.comments, '\m([a-z0-9]+(?:-[a-z0-9]+){2,})\M', 'g') as m (match)
    where ctid.capability_group = 'aws_config'
    union all
    select
        ctid.*,
        'control',
        m.match[1]
    from ctid
    cross join lateral regexp_matches(ctid.comments, '\m([A-Z][A-Za-z0-9]+\.[0-9]+)\M', 'g') as m (match)
    where ctid.capability_group = 'aws_security_hub'
),

unioned as (
    select
        'aws' as provider,
        'api_call' as indicator_type,
        analytics.indicator_value,
        analytics.technique_id,
        analytics.attack_version,
        -- 0.50: at 0.60, mappings resting on analytics alone that reached the coverage threshold were right 3
        -- times in 30 on Elastic and 0 in 3 on Sigma (make eval). At 0.50 (x0.85 unverified context)
        -- analytics never count alone or together (cap: strongest + 0.15) but still reinforce other sources.
        0.50::numeric(3, 2) as confidence,
        jsonb_build_object('log_source', analytics.log_source_name) as context_requirements,
        'attack_analytic' as source,
        analytics.analytic_id as source_ref
    from analytics
    union all
    select
        ctid_values.provider,
        ctid_values.indicator_type,
        ctid_values.indicator_value,
        ctid_values.technique_id,
        ctid_values.attack_version,
        -- CTID grades: not measurable by make eval (the corpora name no finding types, rules or controls)
        (case ctid_values.score_value when 'significant' then 0.80 when 'partial' then 0.60 else 0.40 end)::numeric(3, 2),
        jsonb_build_object('score_value', ctid_values.score_value, 'capability_group', ctid_values.capability_group),
        'ctid_mappings_explorer',
        ctid_values.capability_id || ' ' || ctid_values.source_file
    from ctid_values
    union all
    select
        provider,
        indicator_type,
        indicator_value,
        technique_id,
        attack_version,
        confidence,
        context_requirements,
        'curated',
        indicator_ref
    from curated
    union all
    select
        provider,
        'api_call',
        indicator_value,
        technique_id,
        attack_version,
        -- 0.40, below analytics: the author's "best guess", several techniques per event. Measured with make
        -- eval: at 0.60 (counting alone) Elastic parent precision falls 0.76 -> 0.56 (FP 41 -> 115), Sigma's
        -- 0.35 -> 0.32; at 0.40 TrailDiscover never counts alone or with itself (cap: strongest + 0.15 = 0.55)
        -- and only reinforces another source's indicator of the same technique (docs/mapping.md)
        0.40::numeric(3, 2),
        null::jsonb,
        'traildiscover',
        file_path
    from traildiscover
    union all
    select
        provider,
        'api_call',
        indicator_value,
        technique_id,
        attack_version,
        -- 0.50: a detonation produces every event of the attack under the technique's one id (CreateUser,
        -- AttachUserPolicy and CreateAccessKey all T1136.003; RunInstances T1496 for an unusual instance type).
        -- Measured with make eval: at 0.60 (counting alone) Elastic parent precision falls 0.76 -> 0.72 (FP 41 ->
        -- 49, one more hit), Sigma's 0.35 -> 0.32 (FP 22 -> 25); at 0.50 it never counts alone, only reinforces
        0.50::numeric(3, 2),
        null::jsonb,
        'stratus_red_team',
        source_ref
    from stratus
)

select * from unioned
where source not in ({{ "'" ~ (var('knowledge_sources_off', []) + ['']) | join("', '") ~ "'" }})
