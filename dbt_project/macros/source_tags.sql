{#
  Tags read from the source (docs/collection.md, "Owner, environment, criticality"): the AWS resource tags of a
  detection (ListTagsForResource, or an export's tag file) and an account's tags (Organizations). Which tag holds
  what is configuration: the vars tag_key_owner, tag_key_environment and tag_key_criticality (dbt_project.yml),
  matched without regard to case (Owner, owner and OWNER are one key; where several spellings are present, the
  first in key order wins). Values people set in app (account_attributes, detection_attributes) win over tags.
#}

{# a jsonb object {key: value} from AWS's tag list [{"Key", "Value"}] (or from a map, as GuardDuty's GetDetector
   answers); null when there are none #}
{% macro tag_object(tags) -%}
    case jsonb_typeof({{ tags }})
        when 'array' then (
            select jsonb_object_agg(t.item ->> 'Key', coalesce(t.item ->> 'Value', ''))
            from jsonb_array_elements({{ tags }}) as t (item)
            where t.item ->> 'Key' is not null
        )
        when 'object' then nullif({{ tags }}, '{}'::jsonb)
    end
{%- endmacro %}

{# the value of the tag the var `key_var` names, in a tag object #}
{% macro tag_value(tag_object, key_var) -%}
    (
        select nullif(trim(t.value), '')
        from jsonb_each_text({{ tag_object }}) as t (key, value)
        where lower(t.key) = lower('{{ var(key_var) | replace("'", "''") }}')
        order by t.key
        limit 1
    )
{%- endmacro %}

{# every tag as 'key=value', in key order (detections.tags, text[]) #}
{% macro tag_array(tag_object) -%}
    (
        select array_agg(t.key || '=' || t.value order by t.key)
        from jsonb_each_text({{ tag_object }}) as t (key, value)
    )
{%- endmacro %}

{# a tag value as the spec's criticality (high, medium, low); null when it is none of the spellings below, so
   the caller's default applies #}
{% macro tag_criticality(value) -%}
    case
        when lower({{ value }}) in ('high', 'critical', 'crit', 'very high', 'tier-1', 'tier1') then 'high'
        when lower({{ value }}) in ('medium', 'med', 'moderate', 'tier-2', 'tier2') then 'medium'
        when lower({{ value }}) in ('low', 'minimal', 'tier-3', 'tier3') then 'low'
    end
{%- endmacro %}

{# a tag value as the spec's environment (prod, staging, dev); null when it is none of the spellings below #}
{% macro tag_environment(value) -%}
    case
        when lower({{ value }}) in ('prod', 'production', 'prd', 'live') then 'prod'
        when lower({{ value }}) in ('staging', 'stage', 'stg', 'preprod', 'pre-prod', 'uat', 'qa', 'test') then 'staging'
        when lower({{ value }}) in ('dev', 'development', 'sandbox', 'sbx') then 'dev'
    end
{%- endmacro %}
