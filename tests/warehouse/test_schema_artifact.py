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
    assert "CREATE VIEW marts.v_coverage_gaps_current AS" in ddl
    assert "GRANT SELECT ON TABLE marts.coverage_gaps TO bi_reader;" in ddl


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
