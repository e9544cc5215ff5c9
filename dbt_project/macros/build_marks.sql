{#
  Where the per-detection models keep how far their last build read (macros/detection_scope.sql): one row per
  table, keyed by the table's oid, so a table dropped and built again (a full refresh, a new database) starts
  without marks and is built in full. A ledger rather than the table's comment: the comment is the human
  description dbt writes from the model's YAML (persist_docs), which BI tools show.
#}
{% macro build_marks_table() -%}
    intermediate.build_marks
{%- endmacro %}

{# on-run-start: the ledger exists. Created once, then left alone: the ALTER and COMMENT would lock it against the
   other dbt invocation of a Dagster build, which runs at the same time (whichever creates it first wins, the
   other carries on). #}
{% macro ensure_build_marks() %}
    do $build_marks$
    begin
        if to_regclass('{{ build_marks_table() }}') is null then
            create table {{ build_marks_table() }} (
                relation regclass primary key,
                marks jsonb not null,
                saved_at timestamptz not null default now()
            );
            {%- if target.get('role') %}
            -- the start hook's connection may not have taken dbt's role yet: the models' role owns the ledger
            alter table {{ build_marks_table() }} owner to {{ target.role }};
            {%- endif %}
            comment on table {{ build_marks_table() }} is
                'How far each per-detection model''s last build read (macros/detection_scope.sql); dbt bookkeeping.';
        end if;
    exception when unique_violation or duplicate_table or duplicate_object then
        null;
    end
    $build_marks$
{% endmacro %}

{# on-run-end: rows of tables that no longer exist #}
{% macro prune_build_marks() %}
    delete from {{ build_marks_table() }} as m
    where not exists (select from pg_class as c where c.oid = m.relation::oid)
{% endmacro %}

{# the marks saved for `relation`, as text, or null #}
{% macro build_marks_of(relation) -%}
    (select m.marks::text from {{ build_marks_table() }} as m
     where m.relation = to_regclass('{{ relation.schema }}.{{ relation.identifier }}'))
{%- endmacro %}

{% macro save_build_marks(marks_json) %}
    insert into {{ build_marks_table() }} as m (relation, marks)
    values ('{{ this.schema }}.{{ this.identifier }}'::regclass, $mark${{ marks_json }}$mark$::jsonb)
    on conflict (relation) do update set marks = excluded.marks, saved_at = now()
{% endmacro %}
