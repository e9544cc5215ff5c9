"""schema/database-schema-v1.sql is what the migrations and dbt models build, line for line."""

import re

from dagster_project.lib.warehouse import connection, schema_dump, scratch


def test_committed_ddl_matches_a_freshly_built_warehouse(dbt_manifest, warehouse_url):
    schema_dump.build(warehouse_url)
    built = schema_dump.dump(warehouse_url)
    committed = schema_dump.OUTPUT.read_text()
    assert committed == built, ("schema/database-schema-v1.sql is stale, run `make schema`:\n"
                                + schema_dump.differences(committed, built))


def test_dump_is_runnable_ddl_with_the_spec_tables():
    ddl = schema_dump.OUTPUT.read_text()
    for table in ("marts.detections", "marts.detection_mappings", "marts.coverage_gaps", "marts.coverage_history",
                  "marts.scan_snapshots", "raw.detection_contents", "app.gap_triage"):
        assert f"CREATE TABLE {table} (" in ddl
    # the views read their tables as the reader, so tenant roles' row-level security applies through them
    assert "CREATE VIEW marts.v_coverage_gaps_current WITH (security_invoker='true') AS" in ddl
    assert "GRANT SELECT ON TABLE marts.coverage_gaps TO bi_reader;" in ddl
    assert "GRANT SELECT ON TABLE marts.coverage_gaps TO bi_tenant;" in ddl
    assert "ALTER TABLE marts.detections ENABLE ROW LEVEL SECURITY;" in ddl


def test_constraint_and_index_names_are_readable_and_survive_a_rebuild(warehouse_url):
    """dbt builds a table as <model>__dbt_tmp and names `indexes` by an md5; every build renames them as
    PostgreSQL names a table's own (`<table>_pkey`, `<table>_<columns>_idx`), the same after a rebuild."""
    names_sql = """
        select c.relname, con.conname from pg_constraint as con join pg_class as c on c.oid = con.conrelid
        where c.relnamespace in ('marts'::regnamespace, 'intermediate'::regnamespace) and con.contype <> 'n'
        union all
        select t.relname, i.relname from pg_index as x join pg_class as i on i.oid = x.indexrelid
        join pg_class as t on t.oid = x.indrelid
        where t.relnamespace in ('marts'::regnamespace, 'intermediate'::regnamespace)
        order by 1, 2"""
    with connection.connect(warehouse_url) as conn:
        built = conn.execute("select to_regclass('marts.detections') is not null").fetchone()[0]
    if not built:  # run alone, without the test above
        schema_dump.build(warehouse_url)
    with connection.connect(warehouse_url) as conn:
        before = conn.execute(names_sql).fetchall()
    scratch.dbt(warehouse_url, "run", "--quiet")  # every table model rebuilt and swapped in
    with connection.connect(warehouse_url) as conn:
        after = conn.execute(names_sql).fetchall()
    assert len(before) > 100
    assert after == before
    unreadable = [name for table, name in before
                  if "__dbt" in name or re.fullmatch(r"[0-9a-f]{32}", name) or not name.startswith(table + "_")]
    assert unreadable == []
    assert ("mitre_techniques", "mitre_techniques_pkey") in before
    assert ("detections", "detections_account_id_status_idx") in before


def test_bi_readers_find_every_mart_column_described_in_the_database(warehouse_url):
    """persist_docs writes the YAML descriptions as comments, which BI tools and psql's \\d+ show: every column
    of every mart and view has one (a column the YAML does not declare has none), and a table's comment is its
    description, not build bookkeeping."""
    with connection.connect(warehouse_url) as conn:
        if not conn.execute("select to_regclass('marts.detections') is not null").fetchone()[0]:
            schema_dump.build(warehouse_url)
        rows = conn.execute("""
            select c.relname, a.attname, col_description(c.oid, a.attnum), obj_description(c.oid, 'pg_class')
            from pg_class as c join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where c.relnamespace = 'marts'::regnamespace and c.relkind in ('r', 'v', 'm', 'p')
                and c.relname !~ '__dbt_'""").fetchall()
    assert len({r[0] for r in rows}) > 30
    assert [f"{t}.{c}" for t, c, comment, _ in rows if not comment] == []
    assert [t for t, _, _, table_comment in rows if not table_comment or table_comment.startswith("{")] == []
    described = {(t, c): comment for t, c, comment, _ in rows}
    assert described[("mitre_techniques", "technique_id")] == "The ATT&CK id ('T1078' or 'T1078.004')."
