{# The daily-partition window an incremental model processes: [min_date, max_date], from Dagster's
   partition -> vars helper. Without vars (a manual run) every date qualifies. #}
{% macro partition_filter(column) -%}
    {%- if var('min_date') is not none and var('max_date') is not none -%}
        {{ column }} between '{{ var("min_date") }}'::date and '{{ var("max_date") }}'::date
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# The window's first day, or -infinity without vars (every date qualifies). #}
{% macro window_start() -%}
    {%- if var('min_date') is not none and var('max_date') is not none -%}
        '{{ var("min_date") }}'::date
    {%- else -%}
        '-infinity'::date
    {%- endif -%}
{%- endmacro %}

{# pre_hooks of the daily-partitioned history models. A partition run first removes the days it is about to
   write (re-runs and backfills never duplicate), and every run drops days older than history_retention_days
   (docs/migration-strategy.md). Both only apply to an existing table. #}
{% macro replace_partition_window(day_expression) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ partition_filter(day_expression) }}
    {%- endif -%}
{%- endmacro %}

{% macro prune_history(day_expression) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ day_expression }} < current_date - {{ var('history_retention_days') }}
    {%- endif -%}
{%- endmacro %}
