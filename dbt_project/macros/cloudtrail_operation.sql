{# The operation a CloudTrail event name records: Lambda appends its API version to most names
   (UpdateFunctionCode20150331v2, PublishLayerVersion20181031), which the parser reads as the operation
   (lib/parsing/event_sources.unversioned), so knowledge written on a recorded name is keyed the same way. #}
{% macro cloudtrail_operation(event_source, event_name) -%}
    case
        when {{ event_source }} = 'lambda.amazonaws.com'
            then regexp_replace({{ event_name }}, '([a-z])20[0-9]{6}(v[0-9]+)?$', '\1')
        else {{ event_name }}
    end
{%- endmacro %}
