{# API calls named by ATT&CK analytics whose log source is an AWS channel ('AWS:CloudTrail' with channel
   'AttachUserPolicy, CreatePolicyVersion', or 'CloudTrail:GetObject'). A CamelCase token counts only when
   the event-source seed knows it as a CloudTrail eventName, which filters prose words out. #}
with

analytics as (
    select * from {{ ref('stg_attack__analytics') }}
    where
        not is_revoked and not is_deprecated
        and (log_source_name ilike 'aws:%' or log_source_name ilike 'cloudtrail%')
),

strategies as (
    select * from {{ ref('stg_attack__detection_strategies') }}
    where not is_revoked and not is_deprecated
),

detects as (
    select
        attack_version,
        source_ref as strategy_stix_id,
        target_ref as technique_stix_id
    from {{ ref('stg_attack__relationships') }}
    where relationship_type = 'detects' and not is_revoked
),

techniques as (
    select
        attack_version,
        stix_id,
        technique_id
    from {{ ref('stg_attack__techniques') }}
),

event_sources as (
    select * from {{ ref('aws_api_event_sources_seed') }}
),

tokens as (
    select
        analytics.attack_version,
        analytics.stix_id,
        analytics.analytic_id,
        analytics.log_source_name,
        lower(token.match[1]) as service_prefix,
        token.match[2] as event_name
    from analytics
    cross join lateral regexp_matches(
        analytics.log_source_name || ' ' || coalesce(analytics.log_source_channel, ''),
        '(?:\m([a-z0-9-]+):)?\m([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+)\M', 'g'
    ) as token (match)
)

select distinct
    tokens.attack_version,
    techniques.technique_id,
    tokens.analytic_id,
    tokens.log_source_name,
    event_sources.event_source || ':' || tokens.event_name as indicator_value
from tokens
inner join event_sources
    on
        tokens.event_name = event_sources.event_name
        and (tokens.service_prefix is null or event_sources.event_source like tokens.service_prefix || '%')
inner join strategies
    on tokens.attack_version = strategies.attack_version and tokens.stix_id = strategies.analytic_stix_id
inner join detects
    on strategies.attack_version = detects.attack_version and strategies.stix_id = detects.strategy_stix_id
inner join techniques
    on detects.attack_version = techniques.attack_version and detects.technique_stix_id = techniques.stix_id
