{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='content_hash',
    on_schema_change='fail',
    pre_hook="{{ forget_mappings_of_other_knowledge() }}",
    post_hook=["{{ ensure_index(['parsed_at']) }}", "{{ ensure_index(['knowledge_fingerprint']) }}"],
    indexes=[
        {'columns': ['technique_id']},
    ],
) }}

-- What each distinct detection configuration maps to, once per configuration: the same CIS filter in 1,000
-- accounts is matched once (docs/mapping.md). Parsed signals meet the active version's threat indicators;
-- rule authors' declared tags come in as their own method, so the evaluator can compare the two.
-- Incremental: a daily run maps only the configurations parsed since the last build; the pre-hook empties the
-- table first when the knowledge it was built with (indicators, active version, parser) has changed. A daily
-- batch's signals and contents are probed through raw's indexes (a 1M-detection day's 10k new configurations:
-- ~30k blocks read, ~1 s; with the staging views' former WITH the planner could not, and read ~250k blocks).
{#- read at compile time, before the pre-hook runs, so over the rows the pre-hook keeps #}
{%- set parsed_after = "'" ~ parse_mark("knowledge_fingerprint = " ~ mapping_knowledge_literal()) ~ "'::timestamptz"
    if is_incremental() else none %}
{%- set in_batch -%}
    {%- if parsed_after %}
        and content_hash in (
            select logic.content_hash from {{ ref('stg_detections__logic') }} as logic
            where logic.parsed_at > {{ parsed_after }}
        )
    {%- endif %}
{%- endset %}

with

-- one import per signal kind, each used once, so PostgreSQL inlines it and plans on the table's statistics (a
-- CTE used several times is materialized and estimated blind, which made the name joins nested loops)
exact_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_qualifier = 'exact' {{ in_batch }}
),

prefix_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_qualifier = 'prefix' {{ in_batch }}
),

name_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_type = 'api_call_name' and signal_qualifier = 'exact' {{ in_batch }}
),

service_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_type = 'service' and signal_qualifier = 'exact' {{ in_batch }}
),

like_signals as (
    -- Google Cloud and Azure name patterns (a method name tested with ':' or a wildcard, an operation with
    -- startswith/contains): a SQL LIKE pattern the parser wrote, escaped
    select * from {{ ref('stg_detections__signals') }}
    where signal_qualifier = 'like' {{ in_batch }}
),

metric_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_type = 'metric' {{ in_batch }}
),

alternative_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_type = 'condition' and signal_qualifier = 'one_of' {{ in_batch }}
),

outcome_signals as (
    select * from {{ ref('stg_detections__signals') }}
    where signal_type = 'outcome' {{ in_batch }}
),

contents as (
    select * from {{ ref('stg_detections__contents') }}
    where content_kind = 'config' {{ in_batch }}
),

indicators as (
    select * from {{ ref('threat_indicators') }}
),

matched as (
    -- how strongly a signal implies an indicator: exact 1.0; a bare API name (source unknown) 0.9; a prefix
    -- (DeleteTrail under "Delete*") 0.75; a whole service watched 0.4. One join per kind, so each is a hash
    -- join rather than one OR-join the planner can only loop over.
    select
        signals.content_hash,
        indicators.id as indicator_id,
        1.0 as match_factor,
        signals.signal_type || ':' || signals.signal_value as evidence
    from exact_signals as signals
    inner join indicators
        on
            signals.signal_type = indicators.indicator_type
            and signals.signal_value = indicators.indicator_value
    union all
    select
        signals.content_hash,
        indicators.id,
        0.75,
        signals.signal_type || ':' || signals.signal_value || '*'
    from prefix_signals as signals
    inner join indicators
        on
            signals.signal_type = indicators.indicator_type
            and starts_with(indicators.indicator_value, signals.signal_value)
    union all
    select
        signals.content_hash,
        indicators.id,
        0.9,
        signals.signal_type || ':' || signals.signal_value
    from name_signals as signals
    inner join indicators
        on
            indicators.indicator_type = 'api_call'
            and signals.signal_value = split_part(indicators.indicator_value, ':', 2)
    union all
    select
        signals.content_hash,
        indicators.id,
        0.4,
        signals.signal_type || ':' || signals.signal_value
    from service_signals as signals
    inner join indicators
        on
            indicators.indicator_type = 'api_call'
            and signals.signal_value = split_part(indicators.indicator_value, ':', 1)
    union all
    -- a pattern covers every name it admits, as a prefix does (0.75)
    select
        signals.content_hash,
        indicators.id,
        0.75,
        signals.signal_type || ':' || signals.signal_value
    from like_signals as signals
    inner join indicators
        on
            signals.signal_type = indicators.indicator_type
            and indicators.indicator_value like signals.signal_value
    union all
    select
        signals.content_hash,
        indicators.id,
        1.0,
        signals.signal_type || ':' || signals.signal_value
    from metric_signals as signals
    inner join indicators
        on
            indicators.indicator_type = 'metric'
            and signals.signal_value like '%/' || indicators.indicator_value
    union all
    -- one of several values the configuration accepts for a field ("IAMUser" or "Root"): it fires in the
    -- indicator's case but is not about it, so 0.5 (root usage 0.75 -> 0.38: listed, not counted)
    select
        signals.content_hash,
        indicators.id,
        0.5,
        signals.signal_type || ':' || signals.signal_value || ' (one of several values)'
    from alternative_signals as signals
    inner join indicators
        on
            indicators.indicator_type = 'condition'
            and signals.signal_value = indicators.indicator_value
    union all
    -- a CloudWatch filter that is a known pattern verbatim (whitespace aside)
    select
        contents.content_hash,
        indicators.id,
        1.0,
        'log_pattern'
    from contents
    inner join indicators
        on
            regexp_replace(indicators.indicator_value, '\s', '', 'g')
            = regexp_replace(contents.api_object ->> 'filterPattern', '\s', '', 'g')
    where contents.detection_type = 'metric_filter' and indicators.indicator_type = 'log_pattern'
),

scored as (
    -- one row per configuration x indicator (several signals may reach the same indicator)
    select distinct on (matched.content_hash, matched.indicator_id)
        matched.content_hash,
        indicators.technique_id,
        indicators.attack_technique_id,
        indicators.source,
        -- an indicator that needs context we cannot verify from the configuration counts a little less; an
        -- outcome (a failed sign-in is guessing, a successful one an account in use) is verified when the
        -- configuration admits only one
        least(
            indicators.confidence * matched.match_factor
            * case
                when indicators.context_requirements is null then 1.0
                when outcomes.signal_value = indicators.context_requirements ->> 'outcome' then 1.0
                else 0.85
            end,
            0.99
        ) as score,
        matched.evidence || ' ~ ' || indicators.source || ' ' || coalesce(indicators.source_ref, '') as rationale
    from matched
    inner join indicators on matched.indicator_id = indicators.id
    left join outcome_signals as outcomes on matched.content_hash = outcomes.content_hash
    -- ... and an indicator of the other outcome does not apply at all
    where coalesce(outcomes.signal_value = indicators.context_requirements ->> 'outcome', true)
    order by matched.content_hash asc, matched.indicator_id asc, matched.match_factor desc
),

inferred as (
    -- independent indicators of the same technique reinforce each other (noisy-or), but never by more than
    -- 0.15 over the strongest one: many weak hints are not one strong one
    select
        content_hash,
        technique_id,
        min(attack_technique_id) as attack_technique_id,
        least(1 - exp(sum(ln(1 - score))), max(score) + 0.15) as confidence,
        case when bool_and(source = 'ctid_mappings_explorer') then 'vendor_mapping' else 'pattern_match' end
            as mapping_method,
        string_agg(rationale, '; ' order by score desc, rationale asc) as rationale
    from scored
    group by content_hash, technique_id
),

declared as (
    -- a rule's own ATT&CK tags, read on the active version
    select distinct on (declared.content_hash, techniques.id)
        declared.content_hash,
        techniques.id as technique_id,
        techniques.technique_id as attack_technique_id,
        0.70 as confidence,
        'declared' as mapping_method,
        'declared by the rule author: ' || declared.source_tag as rationale
    from {{ ref('stg_detections__declared_mappings') }} as declared
    inner join {{ ref('mitre_techniques') }} as techniques on declared.attack_technique_id = techniques.technique_id
    inner join {{ ref('mitre_versions') }} as versions on techniques.version_id = versions.id and versions.is_active
    where not techniques.is_revoked {{ in_batch }}
),

unioned as (
    select * from inferred
    union all
    select * from declared
)

-- inference first: a declared tag the signals also support is reported as inferred (with its evidence).
-- A declared tag inference does not support, on a configuration inference did map, is a disagreement.
select distinct on (unioned.content_hash, unioned.technique_id)
    unioned.content_hash,
    unioned.technique_id,
    unioned.attack_technique_id::varchar(20) as attack_technique_id,
    round(unioned.confidence, 2)::numeric(3, 2) as confidence_score,
    unioned.mapping_method::varchar(50) as mapping_method,
    unioned.rationale,
    -- a window over the rows already sorted by configuration, not a lookup per declared row: a knowledge change
    -- remaps every configuration at once, and the lookup (planned on the batch's small estimate) scanned all
    -- ~2M inferred rows for each of ~650 declared ones
    (
        unioned.mapping_method = 'declared'
        and bool_or(unioned.mapping_method <> 'declared') over (partition by unioned.content_hash)
    ) as inference_disagrees,
    -- what the row was built from: the configuration's parse, and the knowledge the pre-hook checks
    logic.parsed_at,
    {{ mapping_knowledge_fingerprint() }} as knowledge_fingerprint
from unioned
inner join {{ ref('stg_detections__logic') }} as logic on unioned.content_hash = logic.content_hash
order by unioned.content_hash asc, unioned.technique_id asc, (unioned.mapping_method = 'declared'), unioned.confidence desc
