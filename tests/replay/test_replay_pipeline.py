"""Replay through Dagster, PostgreSQL and dbt: scenarios from a user folder (a bad file quarantined, the rest
replayed), which detection versions fire on which records, only alerting detections catching an incident's
steps, and a second run replaying nothing but what is new."""

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from dagster_project.defs.attack.assets import attack_bundles
from dagster_project.defs.replay.assets import replay_scenarios, replayed_patterns
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.detections.store import AccountScan, store_partition
from dagster_project.lib.parsing.store import parse_pending
from dagster_project.lib.warehouse import scratch

DAY = date(2026, 4, 1)
ACCOUNT, REGION = "123456789012", "us-east-1"
SNS = {"Id": "1", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:sec"}
ATTACK_FIXTURE = Path(__file__).parents[1] / "fixtures" / "attack" / "fixture-attack-1.0.json"  # T1562, T1001...
INCIDENT = {"description": "Exercise 7", "link": "https://example.org/exercise-7"}


def record(detection_type, service, native_id, api_object, related=None):
    return {"provider": "aws", "account_id": ACCOUNT, "region": REGION, "service": service,
            "detection_type": detection_type, "native_id": native_id, "name": native_id.split("/")[-1],
            "api_object": api_object, "related": related or {}}


def rule(name, pattern, targets=(SNS,), bus="default"):
    return record("event_rule", "eventbridge", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
                  {"Name": name, "State": "ENABLED", "EventBusName": bus, "EventPattern": json.dumps(pattern)},
                  {"targets": list(targets)})


def metric_filter(name, pattern, metric):
    return record("metric_filter", "cloudwatch_logs", f"trail/{name}", {
        "filterName": name, "logGroupName": "trail", "filterPattern": pattern,
        "metricTransformations": [{"metricName": metric, "metricNamespace": "CIS", "metricValue": "1"}]})


def alarm(name, metric):
    return record("metric_alarm", "cloudwatch", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm/{name}", {
        "AlarmName": name, "MetricName": metric, "Namespace": "CIS", "AlarmActions": [SNS["Arn"]],
        "ActionsEnabled": True, "StateValue": "OK"})


STOP_PATTERN = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {"eventName": ["StopLogging", "DeleteTrail"]}}
DETECTIONS = [
    rule("trail-stop", STOP_PATTERN),
    rule("trail-stop-untargeted", STOP_PATTERN, targets=()),          # fires, but alerts nobody
    rule("trail-stop-custom-bus", STOP_PATTERN, bus="security"),      # CloudTrail never reaches it
    metric_filter("cis-trail", "{ ($.eventName = StopLogging) || ($.eventName = DeleteTrail) }", "TrailChanges"),
    alarm("cis-trail-alarm", "TrailChanges"),
    metric_filter("new-users", "{ $.eventName = CreateUser }", "NewUsers"),  # no alarm: broken
]


def ct(source, name, **extra):
    return {"eventSource": source, "eventName": name, "awsRegion": REGION, "eventTime": "2026-03-01T10:00:00Z",
            "recipientAccountId": ACCOUNT, "eventType": "AwsApiCall", "userIdentity": {"type": "IAMUser"}, **extra}


def scenario(root, name, techniques, records, incidents=()):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "scenario.yaml").write_text(json.dumps({"technique_ids": techniques, "incidents": list(incidents)}))
    (folder / "records.json").write_text(json.dumps({"Records": records}))
    return folder


def materialize(instance):
    result = dg.materialize([replay_scenarios, replayed_patterns], instance=instance,
                            resources={"warehouse": WarehouseResource()})
    assert result.success
    mats = result.asset_materializations_for_node("replayed_patterns")
    return next(m.metadata for m in mats if m.asset_key.path[-1] == "replay_patterns")


def dbt_build():
    scratch.dbt(os.environ["DCV_WAREHOUSE_URL"], "build", "--quiet", "--exclude-resource-type", "unit_test",
                "--select", "+detection_replay_results", "+replay_incident_steps", "+replay_scenarios",
                "+detection_mapping_validations")


@pytest.fixture(scope="module")
def scenario_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenarios") / "red-team"
    scenario(root, "trail-off", ["T1562"],
             [ct("cloudtrail.amazonaws.com", "DescribeTrails"), ct("cloudtrail.amazonaws.com", "StopLogging")],
             [INCIDENT])
    scenario(root, "new-user", ["T1001"], [ct("iam.amazonaws.com", "CreateUser")], [INCIDENT])
    bad = scenario(root, "broken-export", ["T1098.001"], [ct("iam.amazonaws.com", "CreateAccessKey")])
    (bad / "more.json").write_text("{not json")
    (bad / "odd.json").write_text(json.dumps([{"eventName": "CreateAccessKey"}]))
    return root


@pytest.fixture(scope="module")
def built(warehouse_url, dagster_instance, dbt_manifest, scenario_root):
    with psycopg.connect(warehouse_url) as conn:
        store_partition(conn, DAY, [AccountScan("aws", ACCOUNT, datetime(2026, 4, 1, tzinfo=UTC), DETECTIONS,
                                                completed_at=datetime.now(UTC), regions=[REGION],
                                                services_scanned=3)])
        parse_pending(conn)  # as the pipeline does before dbt: the mapping marts read each version's parse
        # a person mapped the untargeted rule to T1562 and the custom-bus rule to T1001
        conn.execute("insert into app.manual_mappings (account_id, native_id, technique_id, rationale) values "
                     "(%s, %s, 'T1562', 'reviewed'), (%s, %s, 'T1001', 'reviewed')",
                     (ACCOUNT, DETECTIONS[1]["native_id"], ACCOUNT, DETECTIONS[2]["native_id"]))
    os.environ["DCV_ATTACK_SOURCE"] = str(ATTACK_FIXTURE)
    os.environ["DCV_REPLAY_SCENARIOS"] = str(scenario_root)
    try:
        assert dg.materialize([attack_bundles], instance=dagster_instance,
                              resources={"warehouse": WarehouseResource()}).success
        first = materialize(dagster_instance)
        dbt_build()
        yield first
    finally:
        os.environ.pop("DCV_REPLAY_SCENARIOS", None)
        os.environ.pop("DCV_ATTACK_SOURCE", None)


def test_bad_files_are_quarantined_and_the_rest_replays(built, db, scenario_root):
    rejects = db.execute("select object_ref, reason from raw.quarantine where source = 'replay_scenarios' "
                         "order by object_ref").fetchall()
    assert [(ref.removeprefix(f"{scenario_root}/"), reason.split(" (")[0]) for ref, reason in rejects] == [
        ("broken-export/more.json", "not JSON"),
        ("broken-export/odd.json record 0", "not a CloudTrail record: no eventSource")]
    assert db.execute("select scenario_key, record_count from raw.replay_scenarios order by 1").fetchall() == [
        ("red-team/broken-export", 1), ("red-team/new-user", 1), ("red-team/trail-off", 2)]
    # three distinct patterns: the two rules with a pattern share one; the custom-bus rule has none
    assert built["patterns_replayed"].value == 3
    note = db.execute("select note from raw.replay_contents where pattern_id is null").fetchall()
    assert len(note) == 1 and "default bus only" in note[0][0]


def test_results_say_which_version_fired_on_which_records(built, db):
    # the custom-bus rule never fires: CloudTrail events do not reach its bus
    rows = db.execute("""
        select d.name, r.scenario_key, r.matched_records, r.matched_event_names
        from marts.detection_replay_results as r inner join marts.detections as d on r.detection_id = d.id
        order by 1, 2""").fetchall()
    assert rows == [
        ("cis-trail", "red-team/trail-off", [1], ["StopLogging"]),
        ("new-users", "red-team/new-user", [0], ["CreateUser"]),
        ("trail-stop", "red-team/trail-off", [1], ["StopLogging"]),
        ("trail-stop-untargeted", "red-team/trail-off", [1], ["StopLogging"]),
    ]


def test_incident_steps_are_caught_only_by_detections_that_alert(built, db):
    steps = db.execute("""
        select incident_name, scenario_key, caught, catching_detections, caught_by
        from marts.replay_incident_steps order by scenario_key""").fetchall()
    assert steps == [
        # the CreateUser filter matches, but no alarm watches its metric: nobody would have been told
        ("Exercise 7", "red-team/new-user", False, 0, None),
        # the untargeted rule matches too and is not counted
        ("Exercise 7", "red-team/trail-off", True, 2, ["cis-trail", "trail-stop"]),
    ]


def test_a_persons_mapping_keeps_its_verdict_and_shows_what_replay_saw(built, db):
    rows = db.execute("""
        select d.name, v.attack_technique_id, v.mapping_status, v.validation_status, v.validation_method,
               v.technique_scenarios, v.scenarios_fired, v.firing_scenarios, v.replay_note
        from marts.detection_mapping_validations as v inner join marts.detections as d on v.detection_id = d.id
        order by 1""").fetchall()
    assert rows[0] == ("trail-stop-custom-bus", "T1001", "validated", "validated", None, 1, 0, None,
                       "rule on event bus security: AWS services deliver CloudTrail events to the default bus only")
    assert rows[1] == ("trail-stop-untargeted", "T1562", "validated", "validated", None, 1, 1,
                       ["red-team/trail-off"], None)
    assert len(rows) == 2


def test_a_second_run_replays_only_what_is_new(built, db, dagster_instance, scenario_root):
    matches = db.execute("select pattern_id, scenario_key, record_ordinals from raw.replay_pattern_matches "
                         "order by 1, 2").fetchall()
    os.environ["DCV_REPLAY_SCENARIOS"] = str(scenario_root)
    try:
        again = materialize(dagster_instance)
        assert (again["patterns_replayed"].value, again["records"].value, again["candidate_tests"].value) == (0, 0, 0)
        assert db.execute("select pattern_id, scenario_key, record_ordinals from raw.replay_pattern_matches "
                          "order by 1, 2").fetchall() == matches

        scenario(scenario_root, "trail-deleted", ["T1562"], [ct("cloudtrail.amazonaws.com", "DeleteTrail")])
        added = materialize(dagster_instance)
        # every pattern against the one new record; only the two trail patterns are candidates for it
        assert (added["patterns_replayed"].value, added["records"].value, added["candidate_tests"].value) == (3, 1, 2)
        assert added["matches"].value == 2
    finally:
        os.environ.pop("DCV_REPLAY_SCENARIOS", None)


def test_a_daily_build_recomputes_only_the_changed_versions_as_a_full_rebuild_would(built, db, dagster_instance,
                                                                                     scenario_root):
    """The previous test loaded a scenario: one full pass. Then a day on which one detection's pattern changes (a
    new pattern, replayed) touches only that detection's rows, and both per-detection replay marts equal a full
    rebuild."""
    results = "select d.name, d.is_current, r.scenario_key, r.matched_records, r.matched_event_names " \
              "from marts.detection_replay_results as r inner join marts.detections as d on r.detection_id = d.id"
    validations = "select d.name, d.is_current, v.attack_technique_id, v.validation_status, v.firing_scenarios " \
                  "from marts.detection_mapping_validations as v inner join marts.detections as d on v.detection_id = d.id"
    untouched = "select r.xmin::text, d.name from marts.detection_replay_results as r " \
                "inner join marts.detections as d on r.detection_id = d.id where d.name like 'trail-stop%%' " \
                "union all select v.xmin::text, d.name from marts.detection_mapping_validations as v " \
                "inner join marts.detections as d on v.detection_id = d.id"
    dbt_build()
    assert ("trail-stop", True, "red-team/trail-deleted", [0], ["DeleteTrail"]) in db.execute(results).fetchall()
    assert ("trail-stop-untargeted", True, "T1562", "validated", ["red-team/trail-deleted", "red-team/trail-off"]
            ) in db.execute(validations).fetchall()

    changed = rule("new-users-rule", {"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}})
    day2 = [changed if d["name"] == "new-users" else d for d in DETECTIONS]
    with psycopg.connect(os.environ["DCV_WAREHOUSE_URL"]) as conn:
        store_partition(conn, date(2026, 4, 2), [AccountScan("aws", ACCOUNT, datetime(2026, 4, 2, tzinfo=UTC), day2,
                                                             completed_at=datetime.now(UTC), regions=[REGION],
                                                             services_scanned=3)])
        parse_pending(conn)
    before = sorted(db.execute(untouched).fetchall())
    os.environ["DCV_REPLAY_SCENARIOS"] = str(scenario_root)
    try:
        assert materialize(dagster_instance)["patterns_replayed"].value == 1  # the changed rule's pattern
    finally:
        os.environ.pop("DCV_REPLAY_SCENARIOS", None)
    dbt_build()
    assert sorted(db.execute(untouched).fetchall()) == before  # the unchanged detections' rows were not rewritten
    daily = sorted(db.execute(results).fetchall()), sorted(db.execute(validations).fetchall())
    assert ("new-users-rule", True, "red-team/new-user", [0], ["CreateUser"]) in daily[0]

    scratch.dbt(os.environ["DCV_WAREHOUSE_URL"], "run", "--quiet", "--full-refresh", "--select",
                "detection_replay_results", "detection_mapping_validations")
    assert (sorted(db.execute(results).fetchall()), sorted(db.execute(validations).fetchall())) == daily
