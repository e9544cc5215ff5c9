{# pre_hook of detection_health_findings, after collect_detection_scope: besides the detections that changed, the
   ones whose verdict reads something else that moved. One statement, so both parts read the scope as collected.
   - Metric filters beside an alarm whose configuration changed (a version that began or ended): a filter is
     broken when no alarm in its account and region watches its metric. An alarm whose state alone changed keeps
     its id and its row here, and watches the same metric: the sample fires alarms in nearly every region daily,
     and counting those put every filter (121k at 1M) in scope.
   - Alarms triggered within their 30-day window at the last build: the window moves with each scan, and a count
     can only fall to 0 (degraded: not triggered in 30 days) from above it. A new trigger is a new state, so the
     alarm has changed and is in scope already. #}
{% macro widen_health_scope(scope) %}
    {%- set state = detection_build_state(scope) %}
    {%- if not state.full %}
    insert into detection_scope (detection)
    select filters.id
    from {{ ref('detections') }} as filters
    inner join {{ ref('detection_types') }} as filter_type
        on filters.detection_type_id = filter_type.id and filter_type.type_name = 'metric_filter'
    where
        filters.is_current
        and (filters.account_id, filters.region) in (
            select alarms.account_id, alarms.region
            from {{ ref('detections') }} as alarms
            inner join detection_scope as s on alarms.id = s.detection
            inner join {{ ref('detection_types') }} as alarm_type
                on alarms.detection_type_id = alarm_type.id and alarm_type.type_name = 'metric_alarm'
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
