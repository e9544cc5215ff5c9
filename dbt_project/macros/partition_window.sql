{# The daily-partition window an incremental model processes: [min_date, max_date], from Dagster's
   partition -> vars helper. Without vars (a manual run) every date qualifies. #}
{% macro partition_filter(column) -%}
    {%- if var('min_date') is not none and var('max_date') is not none -%}
        {{ column }} between '{{ var("min_date") }}'::date and '{{ var("max_date") }}'::date
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
