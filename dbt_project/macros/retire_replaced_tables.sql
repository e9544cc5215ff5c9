{#
  A table model is rebuilt beside the old table, swapped in, and the old one dropped. Dropping a table whose
  foreign key references another (detection_health -> detections) removes the key's triggers from the
  referenced table, which takes an ACCESS EXCLUSIVE lock on it: the drop waits for every model still reading
  detections, and every model that starts reading it afterwards waits behind the drop. Measured at 1M
  detections: detection_deprecation_impact took 1.3 s alone and 8.9 s beside int_detection_mappings_resolved.
  So a replaced table is renamed aside instead (a lock on itself alone), and dropped when the run ends.

  This overrides dbt's own drop_relation_if_exists, which the table and incremental materializations call for
  the replaced table (named <model>__dbt_backup, which on a first build does not exist: `if exists`); every
  other drop is unchanged.
#}
{% macro drop_relation_if_exists(relation) %}
    {%- if relation is not none and relation.type == 'table' and relation.identifier.endswith('__dbt_backup')
        and not feeds_a_materialized_view(relation) %}
        {% call statement('retire_replaced_table', auto_begin=False) -%}
            alter table if exists {{ relation }} rename to {{ relation.identifier ~ '_' ~ invocation_id[:8] }}
        {%- endcall %}
    {%- elif relation is not none %}
        {% do adapter.drop_relation(relation) %}
    {%- endif %}
{% endmacro %}

{#
  A materialized view is refreshed in place, not rebuilt, so it stays on the table it was created over: one
  over a replaced table is dropped with it at once (cascade), as dbt always did, and its model creates it again
  over the new table.
#}
{% macro feeds_a_materialized_view(relation) %}
    {%- set sql %}
        select exists (
            select from pg_depend as d
            inner join pg_rewrite as r on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
            inner join pg_class as v on r.ev_class = v.oid
            where d.refobjid = to_regclass('{{ relation.include(database=False) }}') and v.relkind = 'm'
        )
    {%- endset %}
    {{ return(execute and run_query(sql).columns[0].values()[0]) }}
{% endmacro %}

{#
  on-run-end: drop the tables this run and earlier ones renamed aside, with the keys other tables' old copies
  hold on them (cascade, as dbt's own drop). A table still locked by a reader outside this run (a BI query, or
  the other half of a Dagster build) is left for the next run rather than waited for.
#}
{% macro drop_retired_tables() %}
    do $$
    declare
        retired record;
    begin
        set local lock_timeout = '1s';
        for retired in
            select c.oid::regclass as name
            from pg_class as c
            where c.relkind = 'r' and c.relname ~ '__dbt_backup_[0-9a-f]{8}$' and pg_has_role(c.relowner, 'USAGE')
        loop
            begin
                execute format('drop table %s cascade', retired.name);
            exception when lock_not_available then
                raise notice 'left for the next run (in use): %', retired.name;
            end;
        end loop;
    end
    $$
{% endmacro %}
