{#
  Daily runs rewrite only what changed. A large mart is computed in full into an unconstrained intermediate
  table (cheap: set-based SQL, no per-row checks), then merged into the constrained mart: only rows that are
  new or differ in any column are written, so foreign-key checks and index upkeep follow churn, not size.
  Rows are matched on id and compared column by column (IS NOT DISTINCT FROM), so the anti-join hashes ids
  only: comparing whole rows as text rendered every row of both tables (detections at 1M: 8.2 s -> 2.3 s).
  Arrays and json compare as text: the intermediate table's types may differ in width (varchar[] vs text[])
  from the contract's, never in value. Large columns that the compared ones determine (a version's document,
  its parsed logic) are left out of the intermediate table and joined by the mart for the rows it writes.
  The first build and --full-refresh write everything (docs/benchmark.md). `scope`: a predicate on `computed`
  that limits the comparison to the rows computed again (macros/detection_scope.sql).
#}
{% macro changed_rows(computed, scope='true') %}
select computed.*
from {{ computed }} as computed
{% if is_incremental() %}
    {%- set columns = adapter.get_columns_in_relation(computed) | rejectattr('name', 'equalto', 'id') | list %}
    where {{ scope }} and not exists (
        select from {{ this }} as existing
        where
            existing.id = computed.id
            {%- for column in columns %}
                {%- if column.dtype | lower in ['array', 'json', 'user-defined'] %}
            and existing.{{ column.name }}::text is not distinct from computed.{{ column.name }}::text
                {%- else %}
            and existing.{{ column.name }} is not distinct from computed.{{ column.name }}
                {%- endif %}
            {%- endfor %}
            {#- no columns known (compiling without the relation, e.g. for lint): compare whole rows #}
            {%- if not columns %}
            and row(existing.*)::text = row(computed.*)::text
            {%- endif %}
    )
{% endif %}
{% endmacro %}

{# hook: rows the computation no longer produces (a rejected mapping), among those in `scope` (on `existing`).
   `by`: a column both tables index that an id determines (the scope's detection), so the anti-join can probe the
   computed rows of each scoped detection instead of hashing all of them (measured on detection_logic's delete,
   since removed, at 1M: 0.89-1.00 s -> 0.54-0.65 s, 47k -> 33k blocks read) #}
{% macro delete_vanished_rows(computed, scope, by) %}
{% if is_incremental() %}
    delete from {{ this }} as existing
    where {{ scope }} and not exists (
        select from {{ computed }} as computed where computed.{{ by }} = existing.{{ by }} and computed.id = existing.id
    )
{% endif %}
{% endmacro %}
