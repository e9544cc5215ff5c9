{#
  Models built per parsed configuration (content_technique_mappings, int_configurations_fingerprinted) read, on
  an incremental run, only the configurations parsed after the newest parse their rows hold. A parse commits as
  one transaction stamped with its start time, so nothing lands behind this mark. It is read once, at compile
  time, and written in as a literal, so the planner sees how few rows follow it. `where`: which of this model's
  rows count (e.g. those built with the current knowledge).
#}
{% macro parse_mark(where='true') %}
    {%- if not is_incremental() %}{{ return('-infinity') }}{% endif %}
    {%- set mark_sql = "select coalesce(max(parsed_at), '-infinity')::text from " ~ this ~ " where " ~ where %}
    {{ return(run_query(mark_sql).columns[0].values()[0]) }}
{%- endmacro %}
