{# post_hook: an index on `columns`, unless the table has one. Unlike `indexes` in a model's config, which dbt
   creates only with the table, this reaches a table built before the index was added. #}
{% macro ensure_index(columns) %}
do $ensure_index$
begin
    if not exists (
        select from pg_index as i
        where i.indrelid = '{{ this.schema }}.{{ this.identifier }}'::regclass
            and (select array_agg(a.attname::text order by k.ord)
                 from unnest(i.indkey) with ordinality as k (attnum, ord)
                 inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum)
                = array['{{ columns | join("', '") }}']
    ) then
        create index on {{ this }} ({{ columns | join(', ') }});
    end if;
end
$ensure_index$
{% endmacro %}
