{#
  Models derived per detection (int_detection_versions_derived) rebuild, on an incremental run, only the
  detections whose change (raw.detection_changes, written in each load's transaction) was made by a transaction
  at or after the position their rows record: the oldest transaction still running when the last build read
  the log (changes_from_xid), so nothing that committed during or after it is skipped. The position is read once
  at compile time and written in as a literal, so the planner sees how few changes follow it. A table without a
  position (built before the change log), or whose position is behind where the log has been pruned, is derived
  again in full, once.
#}
{% macro detection_changes_mark() %}
    {%- if not execute %}{{ return(0) }}{% endif %}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
    {%- if 'changes_from_xid' not in columns or 'derived_xid' not in columns %}{{ return(none) }}{% endif %}
    {%- set mark_sql -%}
        select
            coalesce({{ changes_position() }}, 0),
            (select coalesce(max(pruned_below_xid), 0) from {{ source('detections', 'detection_changes_pruned') }})
    {%- endset %}
    {%- set row = run_query(mark_sql).rows[0] %}
    {{ return(none if row[0] < row[1] else row[0]) }}
{%- endmacro %}

{# the position the table's latest build recorded: builds run one after another, so the row derived last holds
   the largest; read through the derived_xid index (max() over a million rows took 0.5 s) #}
{% macro changes_position() -%}
    (select changes_from_xid from {{ this }} where derived_xid is not null order by derived_xid desc limit 1)
{%- endmacro %}

{# the detections to derive again, given detection_changes_mark() (none: all of them) #}
{% macro changed_detection_keys(mark) %}
    {%- if mark is none -%}
        select presence.detection_key from {{ ref('stg_detections__presence') }} as presence
    {%- else -%}
        select changes.detection_key from {{ ref('stg_detections__changes') }} as changes where changes.changed_xid >= {{ mark }}
    {%- endif %}
{%- endmacro %}

{# pre_hook: the changed detections' old rows go first; the build appends what they derive to now #}
{% macro forget_changed_detections() %}
{% if is_incremental() %}
    {%- set mark = detection_changes_mark() %}
    {%- if mark is none %}
    delete from {{ this }}
    {%- else %}
    delete from {{ this }} where detection_key in ({{ changed_detection_keys(mark) }})
    {%- endif %}
{% endif %}
{% endmacro %}

{# post_hook: the change-log rows this build has read (before its new position) are no longer needed here; the
   log's owner deletes those older than change_log_keep_days (schema/migrations/versions/0012) #}
{% macro prune_read_changes() %}
    select raw.prune_detection_changes(coalesce({{ changes_position() }}, 0), {{ var('change_log_keep_days') }})
{% endmacro %}
