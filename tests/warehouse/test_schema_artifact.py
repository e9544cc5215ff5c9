"""schema/database-schema-v1.sql is what the migrations and dbt models build, line for line."""

from dagster_project.lib.warehouse import schema_dump


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
