{# The stable key of a detection across its versions; every model that keys detections by it computes it here,
   so presence intervals and the change log always agree. #}
{% macro detection_key() -%}
    md5(concat_ws('|', source, account_id, region, service, native_id))
{%- endmacro %}
