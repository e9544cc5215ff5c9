{# pre_hook of detection_health_findings, after collect_detection_scope: besides the detections that changed, the
   ones whose verdict reads something else that moved. One statement, so both parts read the scope as collected.
   - Metric filters feeding a metric an alarm version that began or ended watches (metric_key, found through the
     index on metric_keys): a filter is broken when no alarm in its account and region that can alert watches its
     metric (an alarm's actions are configuration: changing them makes a new version, so it is found here). An
     alarm whose state alone changed keeps its id and its row here, and watches the same metric: the sample fires
     alarms in nearly every region daily, and counting those put every filter (121k at 1M) in scope; so did
     taking every filter in the region of a changed alarm (~70k).
   - Alarms triggered within their 30-day window at the last build: the window moves with each scan, and a count
     can only fall to 0 (info: not triggered in 30 days) from above it. A new trigger is a new state, so the
     alarm has changed and is in scope already. #}
{% macro widen_health_scope(scope) %}
    {%- set state = detection_build_state(scope) %}
    {%- if not state.full %}
    insert into detection_scope (detection)
    select filters.detection_id
    from {{ this }} as filters
    where filters.metric_keys && (
        select array_agg({{ alarm_metric_key('alarms') }})
        from {{ ref('detections') }} as alarms
        inner join detection_scope as s on alarms.id = s.detection
        inner join {{ ref('detection_types') }} as alarm_type
            on alarms.detection_type_id = alarm_type.id and alarm_type.type_name in ('metric_alarm', 'alert_policy')
        where
            not alarms.is_current
            or not exists (select from {{ this }} as known where known.detection_id = alarms.id)
    )
    union all
    select health.detection_id
    from {{ this }} as health
    where health.trigger_count_30d > 0;  -- a partial index (detection_health_findings' post-hook)
    analyze detection_scope;
    {%- endif %}
{% endmacro %}

{# one metric as a key: account, region, namespace and name; null when any is (no alarm watches such a metric) #}
{% macro metric_key(account_id, region, namespace, metric_name) -%}
    (({{ account_id }})::text || '|' || ({{ region }}) || '|' || ({{ namespace }}) || '|' || ({{ metric_name }}))
{%- endmacro %}

{# the metric an alarm (a detections row, `d`) watches, as a key: the findings store it, the scope looks it up #}
{# A Google Cloud alert policy (no Namespace) watches the first log-based metric its conditions name. #}
{% macro alarm_metric_key(d) -%}
    {%- set api = d ~ ".raw_config -> 'api_object'" %}
    {{ metric_key(d ~ '.account_id', d ~ '.region',
                  "coalesce(" ~ api ~ " ->> 'Namespace', case when " ~ api ~ " ? 'conditions' then 'logging.googleapis.com/user' end)",
                  "coalesce(" ~ api ~ " ->> 'MetricName', substring((" ~ api ~ " -> 'conditions')::text from 'logging\.googleapis\.com/user/([A-Za-z0-9_./-]+)'))") }}
{%- endmacro %}
