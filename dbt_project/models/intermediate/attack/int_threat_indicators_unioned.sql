{# Indicator candidates from the three knowledge sources, each with the ATT&CK version it was written against.
   Confidence of the analytic and CTID sources is calibrated per source and grade in
   seeds/knowledge/indicator_source_confidence_seed.csv (measured with make eval); curated rows carry their own. #}
with

calibration as (
    select * from {{ ref('indicator_source_confidence_seed') }}
),

analytics as (
    select * from {{ ref('int_analytic_api_calls_extracted') }}
),

ctid as (
    select * from {{ ref('stg_attack__ctid_mappings') }}
    where mapping_type = 'technique_scores' and score_category = 'detect' and technique_id is not null
),

curated as (
    select * from {{ ref('curated_threat_indicators_seed') }}
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
)

select
    'aws' as provider,
    'api_call' as indicator_type,
    analytics.indicator_value,
    analytics.technique_id,
    analytics.attack_version,
    calibration.confidence::numeric(3, 2) as confidence,
    jsonb_build_object('log_source', analytics.log_source_name) as context_requirements,
    'attack_analytic' as source,
    analytics.analytic_id as source_ref
from analytics
inner join calibration on calibration.source = 'attack_analytic' and calibration.grade = 'default'
union all
select
    ctid_values.provider,
    ctid_values.indicator_type,
    ctid_values.indicator_value,
    ctid_values.technique_id,
    ctid_values.attack_version,
    calibration.confidence::numeric(3, 2),
    jsonb_build_object('score_value', ctid_values.score_value, 'capability_group', ctid_values.capability_group),
    'ctid_mappings_explorer',
    ctid_values.capability_id || ' ' || ctid_values.source_file
from ctid_values
inner join calibration
    on
        calibration.source = 'ctid_mappings_explorer'
        and calibration.grade = case
            when ctid_values.score_value in ('significant', 'partial') then ctid_values.score_value else 'minimal'
        end
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
