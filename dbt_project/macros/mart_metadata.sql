{#
  post-hook of every mart (dbt_project.yml): the spec's column defaults (data-model-seed.md: DEFAULT
  CURRENT_TIMESTAMP, DEFAULT 0, DEFAULT 1, DEFAULT FALSE, DEFAULT gen_random_uuid()), by column name and type, so
  a row someone inserts by hand (a fix, a test fixture) gets what the spec promises. dbt itself always writes
  every column. Set only where missing: a fresh table, or one built before this hook existed.
#}
{% macro spec_defaults() %}
{%- if execute and model.config.materialized in ('table', 'incremental') %}
do $spec_defaults$
declare
    col record;
begin
    for col in
        select a.attname, d.expression
        from pg_attribute as a
        inner join (values
            ('id', 'uuid', 'gen_random_uuid()'),
            ('created_at', 'timestamp without time zone', 'current_timestamp'),
            ('updated_at', 'timestamp without time zone', 'current_timestamp'),
            ('discovered_at', 'timestamp without time zone', 'current_timestamp'),
            ('parsed_at', 'timestamp without time zone', 'current_timestamp'),
            ('mapped_at', 'timestamp without time zone', 'current_timestamp'),
            ('calculated_at', 'timestamp without time zone', 'current_timestamp'),
            ('first_identified', 'timestamp without time zone', 'current_timestamp'),
            ('identified_at', 'timestamp without time zone', 'current_timestamp'),
            ('detected_at', 'timestamp without time zone', 'current_timestamp'),
            ('version', 'integer', '1'),
            ('is_active', 'boolean', 'false'),
            ('api_drift_detected', 'boolean', 'false'),
            ('trigger_count_30d', 'integer', '0'),
            ('detections_added', 'integer', '0'),
            ('detections_removed', 'integer', '0'),
            ('detections_modified', 'integer', '0')
        ) as d (column_name, column_type, expression)
            on a.attname = d.column_name and format_type(a.atttypid, a.atttypmod) = d.column_type
        where a.attrelid = '{{ this }}'::regclass and a.attnum > 0 and not a.attisdropped and not a.atthasdef
    loop
        execute format('alter table %s alter column %I set default %s', '{{ this }}'::regclass, col.attname,
                       col.expression);
    end loop;
end
$spec_defaults$
{%- endif %}
{% endmacro %}

{# post-hook of every mart: dbt's persist_docs skips materialized views (v_organization_coverage), so their
   descriptions are written here, as dbt writes a table's #}
{% macro materialized_view_docs() %}
{%- if execute and model.config.materialized == 'materialized_view' %}
    comment on materialized view {{ this }} is $doc${{ model.description | trim }}$doc$;
    {%- for name, column in model.columns.items() if column.description %}
    comment on column {{ this }}.{{ adapter.quote(name) }} is $doc${{ column.description | trim }}$doc$;
    {%- endfor %}
{%- endif %}
{% endmacro %}
