{# post_hook: the table's GIN indexes take new entries straight into the index (fastupdate off), and any pending
   list left from before is merged now. With fastupdate on, a daily append parks its entries in a pending list that
   every search scans in full, for each of its keys, until a vacuum: detection_health_findings' scope lookup
   (1,421 metric keys against ~24k appended rows) took 2.1 s with the list and 0.35 s without it at 1M. Meant for
   a table searched by many keys straight after each append; a table merged daily and searched by one term
   (detections' name index) keeps the default. #}
{% macro gin_direct_updates() %}
do $gin_direct_updates$
declare
    gin_index regclass;
begin
    for gin_index in
        select i.indexrelid::regclass
        from pg_index as i
        inner join pg_class as c on i.indexrelid = c.oid
        inner join pg_am as am on c.relam = am.oid
        where
            i.indrelid = '{{ this.schema }}.{{ this.identifier }}'::regclass
            and am.amname = 'gin'
            and not coalesce('fastupdate=off' = any(c.reloptions), false)
    loop
        execute format('alter index %s set (fastupdate = off)', gin_index);
        perform gin_clean_pending_list(gin_index);
    end loop;
end
$gin_direct_updates$
{% endmacro %}
