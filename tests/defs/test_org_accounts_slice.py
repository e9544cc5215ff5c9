"""The vertical slice through real parts: a daily partition COPY'd by Dagster, then dbt staging -> mart -> test."""

import json
from datetime import date

import dagster as dg
import pytest

from dagster_project.lib.warehouse import scratch

DAY = "2026-11-20"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("export")
    (root / DAY / "organizations").mkdir(parents=True)  # the day's own folder (docs/export-layout.md, "Days")
    (root / DAY / "organizations" / "list-accounts.json").write_text(json.dumps({"Accounts": [
        {"Id": "111111111111", "Arn": "arn:aws:organizations::111111111111:account/o-abc123/111111111111",
         "Name": "prod-payments", "Status": "ACTIVE"},
        {"Id": "222222222222", "Arn": "arn:aws:organizations::111111111111:account/o-abc123/222222222222",
         "Name": "dev-sandbox", "Status": "SUSPENDED"},
        {"Id": "not-an-account", "Name": "typo"},
    ]}))
    monkeypatch_module.setenv("DCV_EXPORT_DIR", str(root))
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _materialize(instance, selection, partition=None):
    from dagster_project.definitions import defs

    result = dg.materialize(
        [defs.get_assets_def(k) for k in selection],
        partition_key=partition,
        instance=instance,
        resources=defs.resources,
        selection=selection,
    )
    assert result.success
    return result


def test_partition_rematerialized_three_times_gives_same_rows(dbt_manifest, warehouse_url, db, export_dir,
                                                                 dagster_instance):
    key = dg.AssetKey(["raw", "org_accounts"])
    for _ in range(3):
        _materialize(dagster_instance, [key], DAY)
    rows = db.execute("select account_id, status from raw.org_accounts where partition_date = %s order by 1",
                      (DAY,)).fetchall()
    assert rows == [("111111111111", "ACTIVE"), ("222222222222", "SUSPENDED")]
    rejected = db.execute("select object_ref, reason from raw.quarantine where source = 'org_accounts'").fetchall()
    assert len(rejected) == 1 and rejected[0][0].endswith("list-accounts.json#Accounts[2]")
    assert "12-digit" in rejected[0][1]
    events = dagster_instance.fetch_materializations(key, limit=10).records
    assert len(events) == 3 and all(e.partition_key == DAY for e in events)


def test_dbt_builds_staging_mart_and_tests(dbt_manifest, warehouse_url, db, export_dir):
    day = date.fromisoformat(DAY)
    scratch.dbt(warehouse_url, "build", "--select", "+accounts", "+account_inventory_daily", "--indirect-selection",
                "cautious", window=(day, day))
    accounts = db.execute("select account_identifier, account_name, organization_id, criticality, account_status "
                          "from marts.accounts order by 1").fetchall()
    assert accounts == [("111111111111", "prod-payments", "o-abc123", "medium", "active"),
                        ("222222222222", "dev-sandbox", "o-abc123", "medium", "suspended")]
    daily = db.execute("select accounts_listed, accounts_active from marts.account_inventory_daily "
                       "where partition_date = %s", (DAY,)).fetchone()
    assert daily == (2, 1)
    # criticality people set in app survives a full rebuild
    db.execute("insert into app.account_attributes (account_id, criticality, environment) "
               "values ('111111111111', 'high', 'prod')")
    scratch.dbt(warehouse_url, "build", "--full-refresh", "--select", "accounts", "--indirect-selection", "cautious")
    assert db.execute("select criticality, environment from marts.accounts "
                      "where account_identifier = '111111111111'").fetchone() == ("high", "prod")
    assert db.execute("select count(*) from app.account_attributes").fetchone() == (1,)


def test_a_value_longer_than_the_contract_fails_the_build_and_keeps_the_table(dbt_manifest, warehouse_url, db,
                                                                             export_dir):
    """Contract tables are built as CREATE TABLE AS (macros/create_table_as.sql): a column the model leaves wider
    than the contract (accounts' owner is text in app, varchar(255) in the mart) still gets the contract's type as
    the INSERT gave it, so an overlong value fails the build and is never cut; the last good table stays."""
    db.execute("insert into app.account_attributes (account_id, owner) values ('222222222222', repeat('x', 256))")
    try:
        with pytest.raises(RuntimeError, match=r"value too long for type character varying\(255\)"):
            scratch.dbt(warehouse_url, "run", "--select", "accounts")
        assert db.execute("select count(*), count(owner) from marts.accounts").fetchone() == (2, 0)
        assert db.execute("select format_type(atttypid, atttypmod) from pg_attribute where attrelid = "
                          "'marts.accounts'::regclass and attname = 'owner'").fetchone() == ("character varying(255)",)
    finally:
        db.execute("delete from app.account_attributes where account_id = '222222222222'")
