{#
  A table with an enforced contract is built as CREATE TABLE AS, then given the contract's constraints in one
  ALTER TABLE. dbt-postgres creates the constrained table first and fills it with INSERT … SELECT: PostgreSQL
  never runs an INSERT's query in parallel, and the primary key and unique indexes then take each row as it
  arrives (random uuids into btrees) instead of being built once from sorted data (docs/decisions.md,
  measured).
  What the contract guarantees is kept:
  - dbt's own check that the query's columns and types match the contract runs first, as before;
  - that check ignores length and precision (text vs varchar(20)), which the INSERT applied by assignment cast:
    a column built with another type is given the contract's the same way (ALTER COLUMN … TYPE, which rewrites
    the table: large models cast in their SQL instead);
  - NOT NULL, CHECK, UNIQUE and PRIMARY KEY are the contract's, with the names PostgreSQL gives either way.
  Temporary tables and models without a contract are CREATE TABLE AS, as dbt-postgres writes them.
#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {%- set kind = 'temporary ' if temporary else ('unlogged ' if config.get('unlogged', default=false) else '') -%}
    {%- set contracted = not temporary and config.get('contract').enforced -%}
    {%- if contracted %}{{ get_assert_columns_equivalent(sql) }}{% endif %}
    {{ sql_header if sql_header is not none }}
    create {{ kind }}table {{ relation }} as (
        {{ sql }}
    );
    {%- if contracted %}
    {{ contract_types_applied(relation) }}
    {{ contract_constraints_added(relation) }}
    {%- endif %}
{%- endmacro %}

{# columns whose type differs from the contract's only in length or precision (text from a model, varchar(255) in
   the contract) get the contract's type as an INSERT would have given it: by assignment cast, so an overlong
   value fails the build rather than being cut #}
{% macro contract_types_applied(relation) %}
    {%- set expected = relation.identifier ~ '__contract_types' %}
    create temporary table {{ expected }} on commit drop as
    {{ get_empty_schema_sql(model['columns']) }};
    do $contract$
    declare changes text;
    begin
        select string_agg(format('alter column %I type %s', built.attname,
                                 format_type(declared.atttypid, declared.atttypmod)), ', ')
        into changes
        from pg_attribute as built
        inner join pg_attribute as declared
            on declared.attrelid = 'pg_temp.{{ expected }}'::regclass and declared.attname = built.attname
        where
            built.attrelid = '{{ relation }}'::regclass and built.attnum > 0 and not built.attisdropped
            and (built.atttypid, built.atttypmod) is distinct from (declared.atttypid, declared.atttypmod);
        if changes is not null then
            execute format('alter table %s %s', '{{ relation }}', changes);
        end if;
    end
    $contract$;
{% endmacro %}

{# the contract's constraints, column- and model-level, as one ALTER TABLE (one validating scan, each index
   built once) #}
{% macro contract_constraints_added(relation) %}
    {%- set clauses, table_level = [], [] %}
    {%- for column in model['columns'].values() %}
        {%- set quoted = adapter.quote(column.name) if column.get('quote') else column.name %}
        {%- for c in column.get('constraints') or [] %}
            {%- if c.type == 'not_null' %}
                {%- do clauses.append('alter column ' ~ quoted ~ ' set not null') %}
            {%- elif c.type == 'custom' %}
                {%- do exceptions.raise_compiler_error(model.name ~ ': a custom column constraint cannot be added '
                                                       ~ 'after the table is built (macros/create_table_as.sql)') %}
            {%- else %}
                {%- do table_level.append({'type': c.type, 'name': c.get('name'), 'columns': [quoted],
                                           'expression': c.get('expression'), 'to': c.get('to'),
                                           'to_columns': c.get('to_columns') or []}) %}
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
    {%- for rendered in adapter.render_raw_model_constraints(raw_constraints=table_level + model['constraints']) %}
        {%- do clauses.append('add ' ~ rendered) %}
    {%- endfor %}
    {%- if clauses %}
    alter table {{ relation }}
        {{ clauses | join(',\n        ') }};
    {%- endif %}
{% endmacro %}
