def test_warehouse_is_migrated(db):
    tables = {r[0] for r in db.execute("select table_schema || '.' || table_name from information_schema.tables")}
    assert {"raw.quarantine", "raw.org_accounts", "app.account_attributes"} <= tables
