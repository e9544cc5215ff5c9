{# v18+ detection strategies and analytics per technique: guidance text, data components and log sources. #}
with

detects as (
    select
        attack_version,
        source_ref as strategy_stix_id,
        target_ref as technique_stix_id
    from {{ ref('stg_attack__relationships') }}
    where relationship_type = 'detects' and source_type = 'x-mitre-detection-strategy' and not is_revoked
),

strategies as (
    select * from {{ ref('stg_attack__detection_strategies') }}
    where not is_revoked and not is_deprecated
),

analytics as (
    select * from {{ ref('stg_attack__analytics') }}
    where not is_revoked and not is_deprecated
),

-- materialized: inlined, the planner misjudged these small sets and chose nested loops (3.6 s -> 0.2 s)
components as materialized (
    select
        attack_version,
        stix_id,
        name
    from {{ ref('stg_attack__objects') }}
    where stix_type = 'x-mitre-data-component'
),

analytic_text as (
    select
        attack_version,
        stix_id,
        min(analytic_id) as analytic_id,
        min(description) as description
    from analytics
    group by attack_version, stix_id
),

per_strategy as (
    select
        detects.attack_version,
        detects.technique_stix_id,
        strategies.detection_strategy_id,
        min(strategies.name) as strategy_name,
        string_agg(
            '- ' || analytic_text.analytic_id || ': ' || analytic_text.description, e'\n'
            order by analytic_text.analytic_id
        ) as analytic_lines
    from detects
    inner join strategies
        on detects.attack_version = strategies.attack_version and detects.strategy_stix_id = strategies.stix_id
    left join analytic_text
        on
            strategies.attack_version = analytic_text.attack_version
            and strategies.analytic_stix_id = analytic_text.stix_id
    group by detects.attack_version, detects.technique_stix_id, strategies.detection_strategy_id
),

guidance as (
    select
        attack_version,
        technique_stix_id,
        string_agg(
            detection_strategy_id || ' ' || strategy_name || coalesce(e'\n' || analytic_lines, ''), e'\n\n'
            order by detection_strategy_id
        ) as detection_guidance
    from per_strategy
    group by attack_version, technique_stix_id
),

sources as materialized (
    select
        detects.attack_version,
        detects.technique_stix_id,
        array_agg(distinct components.name) filter (where components.name is not null) as data_components,
        array_agg(distinct analytics.log_source_name) filter (where analytics.log_source_name is not null)
            as log_sources
    from detects
    inner join strategies
        on detects.attack_version = strategies.attack_version and detects.strategy_stix_id = strategies.stix_id
    inner join analytics
        on strategies.attack_version = analytics.attack_version and strategies.analytic_stix_id = analytics.stix_id
    left join components
        on
            analytics.attack_version = components.attack_version
            and analytics.data_component_stix_id = components.stix_id
    group by detects.attack_version, detects.technique_stix_id
)

select
    guidance.attack_version,
    guidance.technique_stix_id,
    guidance.detection_guidance,
    sources.data_components,
    sources.log_sources
from guidance
left join sources
    on guidance.attack_version = sources.attack_version and guidance.technique_stix_id = sources.technique_stix_id
