"""The parse asset through Dagster against a real warehouse: incremental by content hash, idempotent."""

import json

import dagster as dg
import pytest
from psycopg.types.json import Jsonb

from dagster_project.lib.parsing import PARSER_VERSION

LOGIC = dg.AssetKey(["raw", "detection_logic"])
SIGNALS = dg.AssetKey(["raw", "detection_signals"])

CLOUDTRAIL_FILTER = {
    "filterPattern": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) "
                     "|| ($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    "metricTransformations": [{"metricName": "CloudTrailEventCount", "metricNamespace": "CISBenchmark"}],
    "logGroupName": "aws-cloudtrail-logs",
}
EVENT_RULE = {
    "Name": "iam-keys", "State": "ENABLED",
    "EventPattern": json.dumps({"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
                                "detail": {"eventName": ["CreateAccessKey"]}}),
}
SIGMA_RULE = {
    "title": "AWS CloudTrail Important Change", "tags": ["attack.t1562.008"],
    "logsource": {"product": "aws", "service": "cloudtrail"},
    "detection": {"selection": {"eventSource": "cloudtrail.amazonaws.com", "eventName": ["StopLogging"]},
                  "condition": "selection"},
    "level": "medium",
}
CONTENTS = [
    ("h_filter", "logs", "metric_filter", {"api_object": CLOUDTRAIL_FILTER, "related": {}}),
    ("h_rule", "events", "event_rule",
     {"api_object": EVENT_RULE, "related": {"targets": [{"Arn": "arn:aws:sns:us-east-1:111111111111:sec"}]}}),
    ("h_sigma", "sigma", "sigma_rule", {"api_object": SIGMA_RULE, "related": {}}),
]


@pytest.fixture
def contents(db):
    for content_hash, service, detection_type, document in CONTENTS:
        db.execute("insert into raw.detection_contents (content_hash, kind, provider, service, detection_type, "
                   "document, first_seen) values (%s, 'config', 'aws', %s, %s, %s, '2026-11-20') "
                   "on conflict do nothing", (content_hash, service, detection_type, Jsonb(document)))
    # a runtime-state row is never parsed
    db.execute("insert into raw.detection_contents (content_hash, kind, provider, service, detection_type, "
               "document, first_seen) values ('h_state', 'state', 'aws', 'cloudwatch', 'metric_alarm', "
               "'{\"StateValue\": \"OK\"}', '2026-11-20') on conflict do nothing")


def _materialize(instance):
    from dagster_project.definitions import defs

    result = dg.materialize([defs.get_assets_def(LOGIC)], instance=instance, resources=defs.resources,
                            selection=[LOGIC, SIGNALS])
    assert result.success
    mats = result.asset_materializations_for_node("parsed_detection_logic")
    return {m.asset_key.path[-1]: m.metadata for m in mats}


def _rows(db):
    logic = db.execute("select content_hash, parser_version, detection_type, parse_confidence, actions, "
                       "severity, parsed_at from raw.detection_logic order by 1").fetchall()
    signals = db.execute("select content_hash, signal_type, value, qualifier from raw.detection_signals "
                         "order by 1, 2, 3, 4").fetchall()
    return logic, signals


def test_parse_asset_writes_logic_and_signals_once(warehouse_url, db, dagster_instance, contents):
    first = _materialize(dagster_instance)
    assert first["detection_logic"]["parsed"].value == 3
    logic, signals = _rows(db)
    assert [r[0] for r in logic] == ["h_filter", "h_rule", "h_sigma"]
    assert {r[1] for r in logic} == {PARSER_VERSION}
    assert ("h_filter", "api_call", "cloudtrail.amazonaws.com:StopLogging", "exact") in signals
    assert ("h_filter", "metric", "CISBenchmark/CloudTrailEventCount", "exact") in signals
    assert ("h_rule", "api_call", "iam.amazonaws.com:CreateAccessKey", "exact") in signals
    assert ("h_sigma", "api_call", "cloudtrail.amazonaws.com:StopLogging", "exact") in signals
    rule = next(r for r in logic if r[0] == "h_rule")
    assert rule[4] == ["arn:aws:sns:us-east-1:111111111111:sec"]
    assert next(r for r in logic if r[0] == "h_sigma")[5] == "medium"

    # nothing new: nothing re-parsed, same rows (parsed_at unchanged proves no rewrite)
    second = _materialize(dagster_instance)
    assert second["detection_logic"]["parsed"].value == 0
    assert _rows(db) == (logic, signals)


def test_older_parser_version_is_reparsed(warehouse_url, db, dagster_instance, contents):
    _materialize(dagster_instance)
    before = _rows(db)
    db.execute("update raw.detection_logic set parser_version = '0.0.1' where content_hash = 'h_rule'")
    again = _materialize(dagster_instance)
    assert again["detection_logic"]["parsed"].value == 1
    after_logic, after_signals = _rows(db)
    assert after_signals == before[1]
    assert [r[:6] for r in after_logic] == [r[:6] for r in before[0]]


def test_volume_in_several_batches(warehouse_url, db, dagster_instance, contents, capsys):
    """More contents than one cursor batch: every one parsed once; prints end-to-end throughput."""
    from dagster_project.lib.parsing.store import BATCH_SIZE
    from dagster_project.lib.warehouse.loader import copy_rows

    count = BATCH_SIZE + 1_500
    names = ["CreateTrail", "StopLogging", "DeleteTrail", "PutBucketPolicy", "CreateAccessKey", "ConsoleLogin"]
    rows = []
    for i in range(count):
        pattern = f"{{ ($.eventName = {names[i % len(names)]}) && ($.errorCode = E{i}) }}"
        document = {"api_object": {"filterPattern": pattern, "metricTransformations": [
            {"metricName": f"m{i}", "metricNamespace": "Bulk"}]}, "related": {}}
        rows.append((f"bulk_{i:06d}", "config", "aws", "logs", "metric_filter", document, "2026-11-20"))
    with db.transaction():
        copy_rows(db, "raw.detection_contents", ["content_hash", "kind", "provider", "service", "detection_type",
                                                 "document", "first_seen"], rows)
    meta = _materialize(dagster_instance)["detection_logic"]
    assert meta["parsed"].value == count
    parsed = db.execute("select count(*) from raw.detection_logic where content_hash like 'bulk_%'").fetchone()[0]
    assert parsed == count
    with capsys.disabled():
        print(f"\nparse asset: {count} contents in {meta['seconds'].value}s "
              f"({count / meta['seconds'].value:,.0f} contents/s, incl. read and COPY)")
    assert _materialize(dagster_instance)["detection_logic"]["parsed"].value == 0
