{# post-hook of every mart (dbt_project.yml). A table or materialized view this run created or refreshed has no
   planner statistics until autovacuum reaches it, up to a minute later, so BI queries straight after a build
   would be planned from defaults. It is analyzed at once (0.1–0.7 s per large mart at 100k detections);
   a merge into an existing table keeps its statistics, which autovacuum refreshes as churn adds up. #}
{% macro analyze_new_table() -%}
    {%- if model.config.materialized in ('table', 'incremental', 'materialized_view') and not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
