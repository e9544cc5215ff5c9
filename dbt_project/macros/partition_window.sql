{# The daily-partition window an incremental model processes: [DCV_PARTITION_MIN_DATE, DCV_PARTITION_MAX_DATE],
   set from the Dagster partition (defs/partitions.py). Unset (a manual run), every date qualifies.
   Environment variables, not --vars: a changed var makes dbt re-parse the whole project, a changed
   environment variable only the models that read it. #}
{% macro partition_window() -%}
    {%- set first, last = env_var('DCV_PARTITION_MIN_DATE', ''), env_var('DCV_PARTITION_MAX_DATE', '') -%}
    {{- return((first, last) if first and last else none) -}}
{%- endmacro %}

{% macro partition_filter(column) -%}
    {%- set window = partition_window() -%}
    {%- if window -%}
        {{ column }} between '{{ window[0] }}'::date and '{{ window[1] }}'::date
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# The window's first day, or -infinity without a window (every date qualifies). #}
{% macro window_start() -%}
    {%- set window = partition_window() -%}
    {%- if window -%}
        '{{ window[0] }}'::date
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

{# The config of a history table appended one scan day at a time (`{{ config(**daily_history('day_column')) }}`):
   each partition run replaces its own days, then drops those past retention; `pre_hook`, `post_hook` and
   `indexes` add the model's own. #}
{% macro daily_history(day_column, pre_hook=[], post_hook=[], indexes=[]) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'tags': ['partitioned'],
        'pre_hook': ["{{ replace_partition_window('" ~ day_column ~ "::date') }}",
                     "{{ prune_history('" ~ day_column ~ "') }}"] + pre_hook,
        'post_hook': post_hook,
        'indexes': indexes,
    }) }}
{% endmacro %}
