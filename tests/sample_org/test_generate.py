"""The sample organization: deterministic, streamed, realistic mistakes included, small day-to-day churn."""

import hashlib
import inspect
import json
from collections import Counter
from datetime import date

import pytest

from dagster_project.lib.detections.record import problem, split
from dagster_project.lib.sample_org import generate, write_export
from dagster_project.lib.sample_org.__main__ import main


def digest(accounts) -> str:
    h = hashlib.sha256()
    for account in accounts:
        h.update(json.dumps([account.account_id, account.name, account.records], sort_keys=True).encode())
    return h.hexdigest()


def versions(day):
    return {(r["account_id"], r["region"], r["service"], r["native_id"]): split(r).config_hash
            for a in generate(12, 150, seed=3, day=day) for r in a.records}


def test_same_seed_same_organization_and_export(tmp_path):
    assert digest(generate(6, 80, seed=11)) == digest(generate(6, 80, seed=11))
    assert digest(generate(6, 80, seed=11)) != digest(generate(6, 80, seed=12))
    day = date(2025, 3, 1)
    assert digest(generate(4, 50, day=day)) == digest(generate(4, 50, day=day))
    write_export(tmp_path / "a", 3, 40, day=day)
    write_export(tmp_path / "b", 3, 40, day=day)

    def tree(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_generate_streams_accounts():
    stream = generate(1_000_000, 1000)
    assert inspect.isgenerator(stream)
    first = next(stream)  # a million accounts, and only the first is built
    assert len(first.account_id) == 12 and first.account_id.isdigit()
    assert 900 <= len(first.records) <= 1100


def test_accounts_vary_and_ids_are_unique():
    accounts = list(generate(40, 60))
    ids = [a.account_id for a in accounts]
    assert len(set(ids)) == 40 and all(len(i) == 12 and i.isdigit() for i in ids)
    names = Counter(a.name.split("-")[0] for a in accounts)
    assert names["prod"] and names["dev"] and names["org"] == 1
    assert len({len(a.regions) for a in accounts}) > 1
    for account in accounts:
        keys = [(r["region"], r["service"], r["native_id"]) for r in account.records]
        assert len(keys) == len(set(keys)), account.name
        assert all(problem(r) is None and r["account_id"] == account.account_id for r in account.records)
    active = [a for a in accounts if a.records]
    assert sum(len(a.records) for a in active) / len(active) == pytest.approx(60, rel=0.1)


def test_disabled_broken_and_duplicate_detections_are_present():
    records = [r for a in generate(10, 200) for r in a.records]
    by_type = lambda t: [r["api_object"] for r in records if r["detection_type"] == t]  # noqa: E731
    assert any(o["State"] == "DISABLED" for o in by_type("event_rule"))
    assert any(not r["related"]["targets"] for r in records if r["detection_type"] == "event_rule")
    alarms = by_type("metric_alarm")
    assert any(not a["ActionsEnabled"] for a in alarms) and any(not a["AlarmActions"] for a in alarms)
    assert any(c["ControlStatus"] == "DISABLED" for c in by_type("securityhub_control"))
    assert any(c["ConfigRuleState"] != "ACTIVE" for c in by_type("config_rule"))
    assert any(f["Status"] == "DISABLED" for d in by_type("guardduty_detector") for f in d["Features"])
    assert any(r["related"]["evaluation_status"].get("LastErrorCode") for r in records
               if r["detection_type"] == "config_rule")
    # an alarm whose metric no filter produces
    for account in generate(10, 200):
        metrics = {(r["region"], t["metricName"]) for r in account.records if r["detection_type"] == "metric_filter"
                   for t in r["api_object"]["metricTransformations"]}
        if any((r["region"], r["api_object"]["MetricName"]) not in metrics for r in account.records
               if r["detection_type"] == "metric_alarm"):
            break
    else:
        raise AssertionError("no orphan alarm in 10 accounts")
    # the same pattern twice in one account
    account = next(generate(1, 200))
    patterns = Counter(r["api_object"]["filterPattern"] for r in account.records
                       if r["detection_type"] == "metric_filter")
    rules = Counter(r["api_object"]["EventPattern"] for r in account.records if r["detection_type"] == "event_rule")
    assert max(patterns.values()) >= 2 and max(rules.values()) >= 2


def test_cis_patterns_and_cloudtrail_event_rules_are_real():
    records = [r for a in generate(3, 300) for r in a.records]
    patterns = {r["api_object"]["filterPattern"] for r in records if r["detection_type"] == "metric_filter"}
    assert any("($.eventName = CreateNetworkAcl)" in p for p in patterns)
    events = [json.loads(r["api_object"]["EventPattern"]) for r in records if r["detection_type"] == "event_rule"]
    names = {n for e in events for n in e.get("detail", {}).get("eventName", [])}
    assert {"StopLogging", "CreateAccessKey", "GetSecretValue", "DeleteDetector", "ConsoleLogin"} <= names
    assert any(e["source"] == ["aws.guardduty"] for e in events)


def test_a_day_changes_a_small_bounded_fraction():
    base, day1, day2 = versions(None), versions(date(2025, 3, 1)), versions(date(2025, 3, 2))

    def changed(a, b):
        keys = set(a) | set(b)
        return sum(a.get(k) != b.get(k) for k in keys) / len(keys)

    assert 0.003 < changed(day1, day2) < 0.03  # ~1-2 % between adjacent days
    assert changed(base, day1) < 0.05
    assert len(set(day1) & set(day2)) / len(set(day1) | set(day2)) > 0.97


def test_cli_writes_an_export(tmp_path, capsys):
    assert main(["--accounts", "2", "--detections", "30", "--seed", "5", "--day", "2025-03-01",
                 "--out", str(tmp_path / "out")]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["accounts"] == 2 and counts["files"] > 10
    assert (tmp_path / "out" / "organizations" / "list-accounts.json").exists()
