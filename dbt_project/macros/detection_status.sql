{# Whether a detection's configuration is switched on, read from the field each AWS, Google Cloud or Azure API uses for it.
   (API field names, not ATT&CK knowledge: this is how each service spells "enabled".) #}
{% macro detection_status(detection_type, api_object) -%}
    case {{ detection_type }}
        when 'event_rule' then
            case when {{ api_object }} ->> 'State' like 'ENABLED%' then 'enabled' else 'disabled' end
        when 'config_rule' then
            case when coalesce({{ api_object }} ->> 'ConfigRuleState', 'ACTIVE') = 'ACTIVE' then 'enabled' else 'disabled' end
        when 'guardduty_detector' then
            case when {{ api_object }} ->> 'Status' = 'ENABLED' then 'enabled' else 'disabled' end
        when 'securityhub_control' then
            case when {{ api_object }} ->> 'ControlStatus' = 'ENABLED' then 'enabled' else 'disabled' end
        when 'securityhub_standard' then
            case when {{ api_object }} ->> 'StandardsStatus' in ('READY', 'PENDING', 'INCOMPLETE') then 'enabled'
                else 'disabled' end
        when 'sigma_rule' then
            case when {{ api_object }} ->> 'status' = 'deprecated' then 'deprecated' else 'enabled' end
        when 'elastic_rule' then
            case when {{ api_object }} -> 'metadata' ->> 'maturity' = 'deprecated' then 'deprecated'
                when ({{ api_object }} -> 'rule' ->> 'enabled') = 'false' then 'disabled' else 'enabled' end
        when 'log_metric' then
            case when ({{ api_object }} ->> 'disabled') = 'true' then 'disabled' else 'enabled' end
        when 'alert_policy' then
            case when ({{ api_object }} ->> 'enabled') = 'false' then 'disabled' else 'enabled' end
        when 'scc_service' then
            case when coalesce({{ api_object }} ->> 'effectiveEnablementState', {{ api_object }} ->> 'intendedEnablementState')
                = 'ENABLED' then 'enabled' else 'disabled' end
        when 'defender_plan' then
            case when lower(coalesce({{ api_object }} ->> 'pricingTier', {{ api_object }} -> 'properties' ->> 'pricingTier'))
                = 'standard' then 'enabled' else 'disabled' end
        when 'activity_log_alert' then
            case when coalesce({{ api_object }} ->> 'enabled', {{ api_object }} -> 'properties' ->> 'enabled') = 'false'
                then 'disabled' else 'enabled' end
        when 'scheduled_query_rule' then
            case when coalesce({{ api_object }} ->> 'enabled', {{ api_object }} -> 'properties' ->> 'enabled') = 'false'
                then 'disabled' else 'enabled' end
        when 'sentinel_rule' then
            case when coalesce({{ api_object }} ->> 'enabled', {{ api_object }} -> 'properties' ->> 'enabled') = 'false'
                then 'disabled' else 'enabled' end
        else 'enabled'
    end
{%- endmacro %}
