"""Owner, tags, environment and criticality from the source: AWS tags fill the marts, people's app values win."""

import json
from datetime import UTC, date, datetime

import psycopg
import pytest

from dagster_project.lib.detections.store import AccountScan, store_partition
from dagster_project.lib.warehouse import scratch

D1, D2 = date(2026, 5, 1), date(2026, 5, 2)
REGION = "us-east-1"
PAYMENTS, SEARCH, LEGACY, UNLISTED = "111100000001", "111100000002", "111100000003", "111100000004"
ACCOUNTS = {
    # ListAccounts entries with the Tags organizations list-tags-for-resource gave them (keys in any case)
    PAYMENTS: [{"Key": "Environment", "Value": "Production"}, {"Key": "criticality", "Value": "Critical"},
               {"Key": "owner", "Value": "payments"}],
    SEARCH: [{"Key": "environment", "Value": "sandbox"}, {"Key": "criticality", "Value": "low"},
             {"Key": "owner", "Value": "search"}],
    LEGACY: [{"Key": "environment", "Value": "lab"}, {"Key": "criticality", "Value": "whatever"}],
}


def rule(account, name, tags=None):
    api = {"Name": name, "State": "ENABLED", "EventPattern": json.dumps({"source": ["aws.iam"]})}
    if tags:
        api["Tags"] = tags
    return {"provider": "aws", "account_id": account, "region": REGION, "service": "eventbridge",
            "detection_type": "event_rule", "native_id": f"arn:aws:events:{REGION}:{account}:rule/{name}",
            "name": name, "api_object": api, "related": {"targets": [{"Id": "1", "Arn": "arn:aws:sns:x"}]}}


def day_records(owner_of_iam):
    alarm = {"provider": "aws", "account_id": PAYMENTS, "region": REGION, "service": "cloudwatch",
             "detection_type": "metric_alarm", "native_id": f"arn:aws:cloudwatch:{REGION}:{PAYMENTS}:alarm:root",
             "name": "root", "api_object": {"AlarmName": "root", "StateValue": "OK", "AlarmActions": ["arn:sns"],
                                            "Tags": [{"Key": "Owner", "Value": "platform"}]},
             "related": {"alarm_history": []}}
    detector = {"provider": "aws", "account_id": PAYMENTS, "region": REGION, "service": "guardduty",
                "detection_type": "guardduty_detector", "native_id": "det-1", "name": "det-1",
                "api_object": {"Status": "ENABLED", "Tags": {"owner": "threat-detection"}}, "related": {}}
    return [rule(PAYMENTS, "iam-changes", [{"Key": "owner", "Value": owner_of_iam},
                                           {"Key": "managed-by", "Value": "terraform"}]),
            rule(PAYMENTS, "untagged"), rule(PAYMENTS, "overridden", [{"Key": "owner", "Value": "web"}]),
            alarm, detector]


def load(url, day, owner_of_iam):
    with psycopg.connect(url) as conn:
        store_partition(conn, day, [
            AccountScan("aws", PAYMENTS, datetime(2026, 5, day.day, tzinfo=UTC), day_records(owner_of_iam),
                        completed_at=datetime.now(UTC), regions=[REGION], services_scanned=3),
            AccountScan("aws", UNLISTED, datetime(2026, 5, day.day, tzinfo=UTC), [rule(UNLISTED, "r")],
                        completed_at=datetime.now(UTC), regions=[REGION], services_scanned=1)])


def build(url, *args):
    scratch.dbt(url, "build", "--quiet", "--indirect-selection", "cautious", "--select", "+accounts", "+detections",
                "--exclude", "path:models/marts/attack", "path:models/intermediate/attack", *args)


@pytest.fixture(scope="module")
def built(warehouse_url, dbt_manifest):
    with psycopg.connect(warehouse_url) as conn:
        for account, tags in ACCOUNTS.items():
            payload = {"Id": account, "Name": f"acct-{account[-1]}", "Status": "ACTIVE", "Tags": tags}
            conn.execute("insert into raw.org_accounts (partition_date, provider, account_id, account_name, status, "
                         "source, collected_at, payload) values (%s, 'aws', %s, %s, 'ACTIVE', 'test', now(), %s)",
                         (D1, account, payload["Name"], json.dumps(payload)))
        # people's values win: the search account is rated high by hand and has a named owner
        conn.execute("insert into app.account_attributes (account_id, criticality, owner) "
                     "values (%s, 'high', 'search-oncall')", (SEARCH,))
        conn.execute("insert into app.detection_attributes (account_id, native_id, owner, tags) values "
                     "(%s, %s, 'appsec', '{reviewed}')", (PAYMENTS, f"arn:aws:events:{REGION}:{PAYMENTS}:rule/overridden"))
    load(warehouse_url, D1, "secops")
    build(warehouse_url)
    return warehouse_url


def detections(db):
    return {name: (owner, tags, version) for name, owner, tags, version in db.execute(
        "select name, owner, tags, version from marts.detections where is_current").fetchall()}


def test_account_environment_criticality_and_owner_come_from_tags_and_app_wins(built, db):
    rows = {r[0]: r[1:] for r in db.execute(
        "select account_identifier, environment, criticality, owner from marts.accounts").fetchall()}
    assert rows == {
        PAYMENTS: ("prod", "high", "payments"),  # Production / Critical: normalized, keys matched in any case
        SEARCH: ("dev", "high", "search-oncall"),  # tagged low, rated high in app.account_attributes
        LEGACY: (None, "medium", None),  # values outside the spec's: unknown environment, default criticality
        UNLISTED: (None, "medium", None),  # seen by a scan only: no tags known
    }


def test_detection_owner_and_tags_from_resource_tags_and_app_wins(built, db):
    found = detections(db)
    assert found["iam-changes"] == ("secops", ["managed-by=terraform", "owner=secops"], 1)
    assert found["root"][:2] == ("platform", ["Owner=platform"])  # the alarm's Owner tag: key case ignored
    assert found["det-1"][:2] == ("threat-detection", ["owner=threat-detection"])  # GetDetector's own Tags map
    assert found["untagged"][:2] == (None, None)
    assert found["overridden"][:2] == ("appsec", ["reviewed"])  # app.detection_attributes wins


def test_a_retag_is_not_a_new_version_and_the_owner_follows(built, db):
    load(built, D2, "detection-engineering")
    build(built)
    found = detections(db)
    assert found["iam-changes"] == ("detection-engineering", ["managed-by=terraform", "owner=detection-engineering"],
                                    1)
    assert db.execute("select count(*) from marts.detections where name = 'iam-changes'").fetchone() == (1,)


def test_another_owner_tag_key_is_read_everywhere(built, db):
    build(built, "--vars", "{tag_key_owner: managed-by}")
    found = detections(db)
    assert found["iam-changes"][0] == "terraform" and found["root"][0] is None
    assert dict(db.execute("select account_identifier, owner from marts.accounts").fetchall())[PAYMENTS] is None
    build(built)
    assert detections(db)["iam-changes"][0] == "detection-engineering"
