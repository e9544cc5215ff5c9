"""Live AWS lists the organization into raw.org_accounts, each account with its Organizations tags (moto's server)."""

import gzip
import json

import boto3
import dagster as dg

from dagster_project.lib.sources.days import utc_today


def test_live_listing_stores_each_accounts_tags(dbt_manifest, warehouse_url, db, dagster_instance, moto_reset,
                                                monkeypatch, tmp_path):
    from dagster_project.definitions import defs

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_reset)
    monkeypatch.setenv("DCV_AWS_ROLE_NAME", "dcv-scan")
    monkeypatch.setenv("DCV_AWS_REGIONS", "us-east-1")
    monkeypatch.setenv("DCV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DCV_EXPORT_DIR", str(tmp_path / "no-export"))  # live AWS only
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    tagged = organizations.create_account(AccountName="payments-prod", Email="p@example.com", Tags=[
        {"Key": "environment", "Value": "production"}, {"Key": "criticality", "Value": "high"},
        {"Key": "owner", "Value": "payments"}])["CreateAccountStatus"]["AccountId"]
    day = utc_today().isoformat()
    key = dg.AssetKey(["raw", "org_accounts"])

    result = dg.materialize([defs.get_assets_def(key)], partition_key=day, instance=dagster_instance,
                            resources=defs.resources, selection=[key])

    assert result.success
    rows = {r[0]: r[1:] for r in db.execute(
        "select account_id, source, payload -> 'Tags' from raw.org_accounts where partition_date = %s", (day,))}
    assert rows[tagged] == ("aws:organizations", [{"Key": "environment", "Value": "production"},
                                                  {"Key": "criticality", "Value": "high"},
                                                  {"Key": "owner", "Value": "payments"}])
    assert rows["123456789012"][1] == []  # moto's management account: listed, untagged
    # no export configured: nothing is missing, nothing quarantined
    assert db.execute("select count(*) from raw.quarantine where source = 'org_accounts'").fetchone() == (0,)
    # the listing as loaded, tags included, is kept for a later re-derivation of the day
    snapshot = tmp_path / "home" / "snapshots" / "organizations" / day / "list-accounts.json.gz"
    kept = json.loads(gzip.decompress(snapshot.read_bytes()))
    assert {a["Id"]: a.get("Tags") for a in kept["Accounts"]}[tagged][2] == {"Key": "owner", "Value": "payments"}
