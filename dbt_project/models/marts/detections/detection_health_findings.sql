{%- set scope = {'inputs': 'int_detection_health_inputs_fingerprinted', 'parsed_from': 'stg_detections__logic',
                  'upstream': 'detections', 'column': 'detection_id'} %}
{%- set hooks = detection_scope_hooks(scope, forget=true, widen='widen_health_scope') %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=hooks.pre,
    post_hook=[
        "{{ add_foreign_keys() }}",
        "create index if not exists {{ this.identifier }}_triggered on {{ this }} (detection_id) where trigger_count_30d > 0",
        "{{ gin_direct_updates() }}",
    ] + hooks.post,
    indexes=[
        {'columns': ['status']},
        {'columns': ['account_id']},
        {'columns': ['watched_metric']},
        {'columns': ['metric_keys'], 'type': 'gin'},
    ],
) }}

-- Health of every live detection (spec §G) without the scan it was last validated by, which detection_health
-- (a view) reads from the account: so a daily run computes again only the detections whose verdict can have
-- changed (macros/detection_scope.sql; widen_health_scope adds the alarms, whose 30-day window moves daily, and
-- the metric filters feeding a metric an alarm version began or stopped watching), not all 1M. Each finding is
-- named in issues_found; status is the worst: broken (cannot alert) > degraded > unknown (no evidence) > healthy;
-- an `info:` finding (not triggered in 30 days) leaves the status alone.
{%- set state = detection_build_state(scope) %}
with

-- one pass over the live detections reads every configuration fact a check needs into narrow columns, so
-- nothing wide (a configuration document) is carried through the joins and sorts below: carrying them
-- spilled ~1.3 GB of sorts to disk at 1M detections
live as (
    select
        d.id,
        d.account_id,
        d.region,
        d.status,
        d.state_hash,
        d.content_hash,
        types.type_name as detection_type,
        accounts.last_scan_date,
        case
            when types.type_name = 'event_rule'
                then jsonb_array_length(coalesce(d.raw_config -> 'related' -> 'targets', '[]')) = 0
        end as has_no_targets,
        -- why an alarm (or a Google Cloud alert policy) cannot alert anyone (null when it can): the link a metric
        -- filter's (or log-based metric's) coverage hangs on
        case
            when types.type_name = 'alert_policy'
                then
                    case
                        when (d.raw_config -> 'api_object' ->> 'enabled') = 'false'
                            then 'alert policy is disabled (enabled=false)'
                        when jsonb_array_length(coalesce(d.raw_config -> 'api_object' -> 'notificationChannels', '[]')) = 0
                            then 'alert policy has no notification channels'
                        when
                            d.raw_config -> 'related' ? 'notification_channels'
                            and not jsonb_path_exists(
                                d.raw_config -> 'related' -> 'notification_channels', '$[*] ? (@.enabled == true)'
                            )
                            then 'none of its notification channels is enabled'
                    end
            when types.type_name <> 'metric_alarm' then null
            when (d.raw_config -> 'api_object' ->> 'ActionsEnabled') = 'false'
                then 'alarm actions are disabled (ActionsEnabled=false)'
            when jsonb_array_length(coalesce(d.raw_config -> 'api_object' -> 'AlarmActions', '[]')) = 0
                then 'alarm has no actions'
        end as cannot_alert,
        -- an Azure Monitor alert notifies through its action groups: none, or none enabled, alerts nobody
        case
            when types.type_name in ('activity_log_alert', 'scheduled_query_rule') then
                case
                    when
                        jsonb_array_length(coalesce(
                            d.raw_config -> 'api_object' -> 'actions' -> 'actionGroups',
                            d.raw_config -> 'api_object' -> 'properties' -> 'actions' -> 'actionGroups', '[]'
                        )) = 0
                        then 'alert has no action groups'
                    when
                        d.raw_config -> 'related' ? 'action_groups'
                        and not jsonb_path_exists(
                            d.raw_config -> 'related' -> 'action_groups',
                            '$[*] ? (@.enabled == true || @.properties.enabled == true)'
                        )
                        then 'none of its action groups is enabled'
                end
        end as cannot_notify,
        d.name,
        -- the metric an alarm watches and those a filter feeds, each as one key (metric_key): a filter is broken
        -- when no alarm in its account and region watches any metric it feeds
        case
            when types.type_name in ('metric_alarm', 'alert_policy')
                then {{ alarm_metric_key('d') }}
        end as watched_metric,
        case
            when types.type_name = 'metric_filter'
                then (
                    select array_agg({{ metric_key('d.account_id', 'd.region', "m.t ->> 'metricNamespace'",
                                                   "m.t ->> 'metricName'") }})
                    from jsonb_array_elements(coalesce(d.raw_config -> 'api_object' -> 'metricTransformations', '[]'))
                        as m (t)
                )
            when types.type_name = 'log_metric'
                then array[{{ metric_key('d.account_id', 'd.region', "'logging.googleapis.com/user'",
                                         "regexp_replace(d.raw_config -> 'api_object' ->> 'name', '^.*/', '')") }}]
        end as metric_keys,
        case
            when
                types.type_name = 'guardduty_detector'
                and jsonb_path_exists(d.raw_config -> 'api_object', '$.Features[*] ? (@.Status == "DISABLED")')
                then (
                    select string_agg(f ->> 'Name', ', ' order by f ->> 'Name')
                    from jsonb_array_elements(d.raw_config -> 'api_object' -> 'Features') as f
                    where f ->> 'Status' = 'DISABLED'
                )
        end as disabled_features
    from {{ ref('detections') }} as d
    inner join {{ ref('detection_types') }} as types on d.detection_type_id = types.id
    left join {{ ref('accounts') }} as accounts on d.account_id = accounts.id
    where d.is_current and {{ in_detection_scope(state, 'd.id') }}
),

-- the metrics alarms watch, and whether each alarm can alert, for the filters computed here: on a daily run,
-- the alarms computed here and those kept from earlier builds (their rows for the detections in scope are
-- already deleted; a kept alarm is broken exactly when it cannot alert), found by index
watched as (
    select
        live.watched_metric,
        live.name as alarm_name,
        live.cannot_alert
    from live
    where live.watched_metric is not null
    {% if not state.full %}
        union all
        select
            known.watched_metric,
            alarms.name,
            case when known.status = 'broken' then substr(known.issues_found[1], 9) end
        from {{ this }} as known
        inner join {{ ref('detections') }} as alarms on known.detection_id = alarms.id
        where known.watched_metric in (
            select unnest(live.metric_keys) as metric_key
            from live
            where live.detection_type in ('metric_filter', 'log_metric')
        )
    {% endif %}
),

-- a metric filter alerts nobody by itself: it counts while an alarm that can alert watches a metric it feeds
filter_metrics as (
    select
        live.id,
        -- a metric with no namespace or name (a null key) is watched by no alarm, as with plain equality
        bool_or(watched.watched_metric is not null) as has_alarm,
        bool_or(watched.watched_metric is not null and watched.cannot_alert is null) as has_alerting_alarm,
        string_agg(
            watched.alarm_name || ' (' || watched.cannot_alert || ')', ', ' order by watched.alarm_name
        ) as silent_alarms
    from live
    cross join lateral unnest(live.metric_keys) as fed (metric_key)
    left join watched on fed.metric_key = watched.watched_metric
    where live.detection_type in ('metric_filter', 'log_metric')
    group by live.id
),

-- runtime state, read for the detections that have one (alarms): its state value and its alarm history
states as (
    select
        live.id,
        states.document ->> 'StateValue' as state_value,
        history.trigger_count_30d,
        history.last_triggered,
        history.entries > 0 as has_trigger_data
    from live
    inner join {{ ref('stg_detections__contents') }} as states on live.state_hash = states.content_hash
    cross join
        lateral (
            select
                count(*) as entries,
                count(*) filter (
                    where h.item ->> 'HistorySummary' like '%to ALARM'
                    and (h.item ->> 'Timestamp')::timestamptz >= live.last_scan_date - interval '30 days'
                ) as trigger_count_30d,
                max((h.item ->> 'Timestamp')::timestamptz) filter (where h.item ->> 'HistorySummary' like '%to ALARM')
                    as last_triggered
            from jsonb_array_elements(coalesce(states.document -> 'alarm_history', '[]')) as h (item)
        ) as history
    where states.content_kind = 'state'
),

deprecations as (
    select
        impact.detection_id,
        array_agg(dep.api_name::text order by dep.api_name) as deprecated_apis,
        bool_or(dep.end_of_life_date <= current_date) as past_end_of_life
    from {{ ref('detection_deprecation_impact') }} as impact
    inner join {{ ref('api_deprecations') }} as dep on impact.deprecation_id = dep.id
    {%- if not state.full %}
        where impact.detection_id in (select live.id from live)
    {%- endif %}
    group by impact.detection_id
),

unparsed as (
    select
        content_hash,
        parse_reason
    from {{ ref('stg_detections__logic') }}
    -- state.full renders as a constant, which the planner folds away (a conditional "and" line linted
    -- differently on a first and a later build)
    where parse_confidence = 0 and ({{ state.full }} or content_hash in (select live.content_hash from live))
),

checks as (
    select
        live.id,
        live.account_id,
        live.watched_metric,
        live.metric_keys,
        states.trigger_count_30d,
        states.last_triggered,
        deprecations.deprecated_apis,
        array_remove(array[
            case when live.status = 'disabled' then 'broken: detection is disabled' end,
            case when live.has_no_targets then 'broken: EventBridge rule has no targets' end,
            case
                when filter_metrics.has_alarm is false and live.detection_type = 'log_metric'
                    then 'broken: log-based metric feeds no alert policy'
                when filter_metrics.has_alarm is false
                    then 'broken: metric filter feeds a metric no alarm watches'
            end,
            case
                when filter_metrics.has_alarm and not filter_metrics.has_alerting_alarm and live.detection_type = 'log_metric'
                    then 'broken: no alert policy on its metric can alert: ' || filter_metrics.silent_alarms
                when filter_metrics.has_alarm and not filter_metrics.has_alerting_alarm
                    then 'broken: no alarm on its metric can alert: ' || filter_metrics.silent_alarms
            end,
            -- a disabled policy is already named by 'detection is disabled'
            case when live.cannot_alert is not null and live.status <> 'disabled' then 'broken: ' || live.cannot_alert end,
            case when live.cannot_notify is not null then 'broken: ' || live.cannot_notify end,
            case
                when deprecations.past_end_of_life
                    then 'broken: uses an API past its end of life: ' || array_to_string(deprecations.deprecated_apis, ', ')
            end,
            case
                when states.state_value = 'INSUFFICIENT_DATA'
                    then 'degraded: alarm is in INSUFFICIENT_DATA'
            end,
            case
                when live.disabled_features is not null
                    then 'degraded: GuardDuty features off: ' || live.disabled_features
            end,
            case
                when deprecations.deprecated_apis is not null and not deprecations.past_end_of_life
                    then 'degraded: references a deprecated API: ' || array_to_string(deprecations.deprecated_apis, ', ')
            end,
            case
                -- information, not degradation: a good alarm on a rare event rarely fires
                when states.has_trigger_data and states.trigger_count_30d = 0
                    then 'info: not triggered in 30 days'
            end,
            case
                when live.detection_type in ('sigma_rule', 'elastic_rule')
                    then 'unknown: a repository rule; no evidence of where it runs'
            end,
            case
                when unparsed.content_hash is not null
                    then 'unknown: logic could not be parsed: ' || coalesce(unparsed.parse_reason, 'no reason given')
            end
        ], null) as issues
    from live
    left join states on live.id = states.id
    left join filter_metrics on live.id = filter_metrics.id
    left join deprecations on live.id = deprecations.detection_id
    left join unparsed on live.content_hash = unparsed.content_hash
),

scored as (
    -- most detections have no issue at all: they skip the array scans
    select
        *,
        case
            when cardinality(issues) = 0 then 'healthy'
            when exists (
                select from unnest(issues) as i
                where i like 'broken:%'
            ) then 'broken'
            when exists (
                select from unnest(issues) as i
                where i like 'degraded:%'
            ) then 'degraded'
            when exists (
                select from unnest(issues) as i
                where i like 'unknown:%'
            ) then 'unknown'
            else 'healthy'
        end as health_status,
        case when cardinality(issues) > 0 then (
            select count(*) from unnest(issues) as i
            where i like 'degraded:%'
        ) else 0 end as degraded_count
    from checks
)

select
    {{ stable_id(["'health'", 'id']) }} as id,
    id as detection_id,
    account_id,
    health_status::varchar(20) as status,
    (case health_status
        when 'broken' then 0
        when 'degraded' then greatest(0.25, 1 - 0.25 * degraded_count)
        when 'healthy' then 1
    end)::decimal(3, 2) as health_score,
    'semantic_check'::varchar(50) as validation_method,
    nullif(array_to_string(array(
        select i from unnest(issues) as i
        where i not like 'info:%'
    ), '; '), '') as error_details,
    issues as issues_found,
    last_triggered::timestamp as last_triggered,
    coalesce(trigger_count_30d, 0)::integer as trigger_count_30d,
    deprecated_apis is not null as api_drift_detected,
    deprecated_apis,
    watched_metric,
    metric_keys
from scored
