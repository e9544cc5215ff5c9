{# post-hook of every mart (dbt_project.yml). A table or materialized view this run created or refreshed has no
   planner statistics until autovacuum reaches it, up to a minute later, so BI queries straight after a build
   would be planned from defaults. It is analyzed at once (0.1–0.7 s per large mart at 100k detections);
   a merge into an existing table keeps its statistics, which autovacuum refreshes as churn adds up.
   A partitioned mart (tag `partitioned`) is analyzed after every run: each run writes days its statistics have
   never seen, and autovacuum waits for 10 % of the table to change, so "on the latest day" was planned as one
   row (`accounts_below_threshold_in_tactic` at 1M: a nested loop over 10,802 rows, 57 ms → 5.2 ms once
   analyzed; the five partitioned marts take 0.7 s together at 1M, 13 days in). #}
{% macro analyze_new_table() -%}
    {%- if model.config.materialized in ('table', 'incremental', 'materialized_view')
          and (not is_incremental() or 'partitioned' in model.config.tags) -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
