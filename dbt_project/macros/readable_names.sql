{#
  post-hook of every table model (dbt_project.yml): its constraints and indexes get the names PostgreSQL gives a
  table built under its own name — `<table>_pkey`, `<table>_<columns>_key`, `<table>_<columns>_fkey`,
  `<table>_<columns>_check`, `<table>_<columns>_idx` — the same after every rebuild, so a DBA reads what they
  are and the committed schema (schema/database-schema-v1.sql) shows them.
  dbt builds a table as `<model>__dbt_tmp` and swaps it in, so PostgreSQL named its constraints after the
  temporary name (`mitre_techniques__dbt_tmp_pkey`), and dbt names the indexes of a model's `indexes` config by
  an md5. The replaced copy (`<model>__dbt_backup`, dropped when the run ends) still holds the readable names,
  so it gives them up first. An index given a name of its own in a model (`<table>_triggered`) keeps it.
  Runs in the model's transaction, which already holds the swapped tables' locks.
#}
{% macro readable_names() %}
{%- if execute and model.config.materialized in ('table', 'incremental') %}
do $readable_names$
declare
    target constant regclass := '{{ this.schema }}.{{ this.identifier }}'::regclass;
    backup constant regclass := to_regclass('{{ this.schema }}.{{ this.identifier ~ "__dbt_backup" }}');
    tbl constant text := '{{ this.identifier }}';
    ns constant oid := '{{ this.schema }}'::regnamespace;
    r record;
    wanted text;
    part1 text;
    part2 text;
    lab text;
    l1 integer;
    l2 integer;
    avail integer;
    n integer;
begin
    if backup is not null then
        for r in select i.indexrelid::regclass as index_name, i.indexrelid from pg_index as i where i.indrelid = backup
        loop
            execute format('alter index %s rename to %I', r.index_name, 'retired_' || r.indexrelid);
        end loop;
    end if;

    -- constraints, primary key first, then by their columns
    for r in
        select c.oid, c.conname, c.contype,
            coalesce((select string_agg(a.attname, '_' order by k.ord)
                      from unnest(c.conkey) with ordinality as k (attnum, ord)
                      inner join pg_attribute as a on a.attrelid = c.conrelid and a.attnum = k.attnum), '') as cols
        from pg_constraint as c
        where c.conrelid = target and c.contype in ('p', 'u', 'f', 'c')
        order by position(c.contype in 'pufc'), 4, c.conname
    loop
        n := 0;
        loop
            {{ readable_names_object_name('tbl', "case when r.contype = 'p' then '' else r.cols end",
                "case r.contype when 'p' then 'pkey' when 'u' then 'key' when 'f' then 'fkey' else 'check' end"
                ~ " || case when n > 0 then n::text else '' end") }}
            exit when wanted = r.conname or not (
                exists (select from pg_constraint where conrelid = target and conname = wanted)
                or (r.contype in ('p', 'u') and exists (select from pg_class where relnamespace = ns and relname = wanted)));
            n := n + 1;
        end loop;
        if wanted <> r.conname then
            execute format('alter table %s rename constraint %I to %I', target, r.conname, wanted);
        end if;
    end loop;

    -- other indexes: those named by dbt (an md5), after the build name, or numbered after a clash
    for r in
        select i.indexrelid, c.relname,
            -- an expression is named by its function, as PostgreSQL names a column of a query (`to_tsvector`)
            string_agg(coalesce(a.attname, substring(pg_get_indexdef(i.indexrelid, k.ord::int, true) from '^(\w+)\('),
                                'expr'), '_' order by k.ord) as cols
        from pg_index as i
        inner join pg_class as c on c.oid = i.indexrelid
        cross join unnest(i.indkey::int2[]) with ordinality as k (attnum, ord)
        left join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum > 0
        where i.indrelid = target and not exists (select from pg_constraint where conindid = i.indexrelid)
        group by i.indexrelid, c.relname
        order by pg_get_indexdef(i.indexrelid)
    loop
        continue when r.relname like tbl || '\_%' and r.relname not like '%\_\_dbt\_%' and r.relname !~ '[0-9]$';
        n := 0;
        loop
            {{ readable_names_object_name('tbl', 'r.cols', "'idx' || case when n > 0 then n::text else '' end") }}
            exit when wanted = r.relname
                or not exists (select from pg_class where relnamespace = ns and relname = wanted);
            n := n + 1;
        end loop;
        if wanted <> r.relname then
            execute format('alter index %s rename to %I', r.indexrelid::regclass, wanted);
        end if;
    end loop;
end
$readable_names$
{%- endif %}
{% endmacro %}

{# plpgsql: `wanted` := PostgreSQL's own makeObjectName(name1, name2, label), the name it gives an index or a
   constraint: name1_name2_label in 63 bytes, the longer of name1 and name2 cut first #}
{% macro readable_names_object_name(name1, name2, label) -%}
    part1 := {{ name1 }}; part2 := {{ name2 }}; lab := {{ label }};
            l1 := length(part1); l2 := length(part2);
            avail := 63 - length(lab) - 1 - case when part2 = '' then 0 else 1 end;
            while l1 + l2 > avail loop
                if l1 > l2 then l1 := l1 - 1; else l2 := l2 - 1; end if;
            end loop;
            wanted := left(part1, l1) || case when part2 = '' then '' else '_' || left(part2, l2) end || '_' || lab;
{%- endmacro %}
