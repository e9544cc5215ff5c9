"""Detection marts through real dbt: versions, health findings, drift between two scan days."""

import json
import os
from datetime import UTC, date, datetime

import psycopg
import pytest

from dagster_project.lib.detections.store import AccountScan, store_partition
from dagster_project.lib.warehouse import scratch

D1, D2 = date(2026, 4, 1), date(2026, 4, 2)
ACCOUNT = "123456789012"
REGION = "us-east-1"


def dbt_run(*args):
    scratch.dbt(os.environ["DCV_WAREHOUSE_URL"], "run", "--quiet", *args)  # the module's warehouse (conftest)


def record(detection_type, service, native_id, api_object, related=None):
    return {"provider": "aws", "account_id": ACCOUNT, "region": REGION, "service": service,
            "detection_type": detection_type, "native_id": native_id, "name": native_id.split(":")[-1],
            "api_object": api_object, "related": related or {}}


def metric_filter(name, metric, pattern="{ $.eventName = ConsoleLogin }"):
    return record("metric_filter", "cloudwatch_logs", f"trail:{name}", {
        "filterName": name, "logGroupName": "trail", "filterPattern": pattern,
        "metricTransformations": [{"metricName": metric, "metricNamespace": "CISBenchmark", "metricValue": "1"}]})


def alarm(name, metric, actions=("arn:aws:sns:us-east-1:123456789012:sec",), state="OK", history=(),
          actions_enabled=True):
    return record("metric_alarm", "cloudwatch", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}", {
        "AlarmName": name, "MetricName": metric, "Namespace": "CISBenchmark", "AlarmActions": list(actions),
        "ActionsEnabled": actions_enabled, "StateValue": state}, {"alarm_history": list(history)})


def rule(name, state="ENABLED", targets=({"Id": "1", "Arn": "arn:aws:sns:us-east-1:123456789012:sec"},)):
    return record("event_rule", "eventbridge", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}", {
        "Name": name, "State": state, "EventPattern": json.dumps({"source": ["aws.iam"]})},
        {"targets": list(targets)})


def day_one():
    return [
        metric_filter("root-usage", "RootUsage"), alarm("root-usage", "RootUsage",
                                                        history=[{"HistorySummary": "Alarm updated from OK to ALARM",
                                                                  "Timestamp": "2026-03-25T10:00:00Z"}]),
        metric_filter("orphan", "NobodyWatches"),
        alarm("silent", "RootUsage", actions=()),
        # a filter counts only through an alarm that can alert: these two alarms cannot
        metric_filter("muted", "Muted"), alarm("muted-alarm", "Muted", actions_enabled=False),
        metric_filter("unheard", "Unheard"), alarm("unheard-alarm", "Unheard", actions=()),
        alarm("stale", "Stale", state="INSUFFICIENT_DATA"),
        rule("iam-changes"), rule("no-targets", targets=()), rule("switched-off", state="DISABLED"),
        record("guardduty_detector", "guardduty", "detector-1", {"Status": "ENABLED", "Features": [
            {"Name": "CLOUD_TRAIL", "Status": "ENABLED"}, {"Name": "S3_DATA_EVENTS", "Status": "DISABLED"}]}),
    ]


def day_two():
    records = [r for r in day_one() if r["native_id"] != "trail:orphan"]  # removed
    records[0] = metric_filter("root-usage", "RootUsage", "{ $.userIdentity.type = Root }")  # modified
    records.append(rule("new-rule"))  # added
    records[1] = alarm("root-usage", "RootUsage", state="ALARM", history=records[1]["related"]["alarm_history"])
    return records


@pytest.fixture(scope="module")
def built(warehouse_url, dbt_manifest):
    with psycopg.connect(warehouse_url) as conn:
        for day, records in ((D1, day_one()), (D2, day_two())):
            store_partition(conn, day, [AccountScan("aws", ACCOUNT, datetime(2026, 4, day.day, tzinfo=UTC), records,
                                                    completed_at=datetime.now(UTC), regions=[REGION],
                                                    services_scanned=4)])
    scratch.dbt(warehouse_url, "build", "--quiet", "--select", "+detection_health", "+scan_snapshots",
                "+snapshot_storage", "--exclude", "path:models/marts/attack", "path:models/intermediate/attack")
    return warehouse_url


def test_versions_and_status(built, db):
    rows = db.execute("select native_id, version, status, previous_version_id is not null "
                      "from marts.detections where native_id in ('trail:root-usage', 'trail:orphan') "
                      "order by native_id, version").fetchall()
    assert rows == [("trail:orphan", 1, "deprecated", False),
                    ("trail:root-usage", 1, "deprecated", False),
                    ("trail:root-usage", 2, "enabled", True)]
    # the alarm changed state, not configuration: still one version
    assert db.execute("select count(*) from marts.detections where native_id like '%alarm:root-usage'").fetchone() == (1,)
    assert db.execute("select status from marts.detections where native_id like '%rule/switched-off' "
                      "and is_current").fetchone() == ("disabled",)


def test_health_names_each_problem(built, db):
    health = dict(db.execute("""
        select d.native_id, h.status || ' | ' || coalesce(h.error_details, '')
        from marts.detection_health as h inner join marts.detections as d on h.detection_id = d.id""").fetchall())
    by_name = {k.split("/")[-1].split(":")[-1]: v for k, v in health.items()}
    assert by_name["iam-changes"].startswith("healthy")
    assert by_name["no-targets"].startswith("broken") and "no targets" in by_name["no-targets"]
    assert by_name["switched-off"].startswith("broken") and "disabled" in by_name["switched-off"]
    assert by_name["silent"].startswith("broken") and "no actions" in by_name["silent"]
    # the filter feeding `silent`'s metric still alerts through its other alarm (root-usage, below)
    assert by_name["muted-alarm"] == "broken | broken: alarm actions are disabled (ActionsEnabled=false)"
    assert by_name["muted"] == ("broken | broken: no alarm on its metric can alert: "
                                "muted-alarm (alarm actions are disabled (ActionsEnabled=false))")
    assert by_name["unheard"] == "broken | broken: no alarm on its metric can alert: unheard-alarm (alarm has no actions)"
    assert by_name["stale"].startswith("degraded") and "INSUFFICIENT_DATA" in by_name["stale"]
    assert by_name["detector-1"].startswith("degraded") and "S3_DATA_EVENTS" in by_name["detector-1"]
    assert "root-usage" in by_name and by_name["root-usage"].startswith("healthy")
    assert "orphan" not in by_name, "a removed detection has no live health row"
    trig = db.execute("""select h.last_triggered, h.trigger_count_30d from marts.detection_health as h
        inner join marts.detections as d on h.detection_id = d.id where d.native_id like '%alarm:root-usage'""")
    assert trig.fetchone() == (datetime(2026, 3, 25, 10, 0), 1)


def test_drift_between_the_two_days(built, db):
    rows = db.execute("select scan_day, total_detections, detections_added, detections_removed, "
                      "detections_modified from marts.scan_snapshots order by scan_day").fetchall()
    assert rows == [(D1, 13, 0, 0, 0), (D2, 13, 1, 1, 1)]
    assert db.execute("select count(*) from marts.snapshot_storage").fetchone() == (0,)


def test_versions_follow_the_change_log_as_a_full_rebuild_would(built, db):
    """A daily build derives versions again only for the detections a load changed, and ends where a full
    rebuild does: through a backfill that splits an interval, one that merges it back (no interval then starts
    or ends on the loaded day), and a day loaded again without a detection that was new on it."""
    account = "210987654321"

    def load(day, *names):
        records = [{**metric_filter(n.rstrip("'"), "M", "{ $.eventName = X }" if n.endswith("'") else
                                    "{ $.eventName = ConsoleLogin }"), "account_id": account} for n in names]
        with psycopg.connect(built) as conn:
            store_partition(conn, day, [AccountScan("aws", account, datetime.now(UTC), records,
                                                    completed_at=datetime.now(UTC))])
        dbt_run("--select", "int_detection_versions_derived")

    def versions():
        return db.execute("select detection_key, version, native_id, content_hash, valid_from, valid_to, first_seen "
                          "from intermediate.int_detection_versions_derived order by 1, 2").fetchall()

    def of(native_id):
        return [(v[4], v[5]) for v in versions() if v[2] == f"trail:{native_id}"]

    d10, d11, d12 = date(2026, 4, 10), date(2026, 4, 11), date(2026, 4, 12)
    load(d10, "a", "b")
    load(d12, "a'", "b", "c")
    load(d11, "a")  # b missing on the 11th: split around it
    assert of("b") == [(d10, d11), (d12, None)]
    load(d11, "a", "b")  # b there after all: merged back, and no interval of b starts or ends on the 11th
    assert of("b") == [(d10, None)]
    load(d12, "a'", "b")  # c was new on the 12th: loaded again without it, c has no interval left
    assert of("c") == [] and of("a") == [(d10, d12), (d12, None)]
    daily = versions()
    dbt_run("--full-refresh", "--select", "int_detection_versions_derived")
    assert versions() == daily


def test_the_change_log_is_pruned_once_read_and_a_reader_behind_the_pruning_derives_everything(built, db):
    """A build deletes the change-log rows it has read once they are older than change_log_keep_days (through
    raw.prune_detection_changes: dbt's role still cannot delete from raw). A reader whose position is behind
    where the log was pruned (a second target, a table restored from backup) may have missed a deleted change:
    it derives every detection again rather than skip one."""
    account = "410987654321"
    keep_none = ("--vars", "{change_log_keep_days: 0}")

    def load(day, name):
        with psycopg.connect(built) as conn:
            store_partition(conn, day, [AccountScan("aws", account, datetime.now(UTC), [
                {**metric_filter(name, "M"), "account_id": account}], completed_at=datetime.now(UTC))])

    def mark():
        return db.execute("select max(changes_from_xid) from intermediate.int_detection_versions_derived").fetchone()[0]

    def versions():
        return db.execute("select detection_key, version, content_hash, valid_from, valid_to "
                          "from intermediate.int_detection_versions_derived order by 1, 2").fetchall()

    load(date(2026, 4, 21), "kept")
    dbt_run("--select", "int_detection_versions_derived")  # the default keeps a week: nothing is deleted yet
    assert db.execute("select count(*) from raw.detection_changes where native_id = 'trail:kept'").fetchone() == (1,)
    load(date(2026, 4, 21), "pruned")
    dbt_run("--select", "int_detection_versions_derived", *keep_none)
    assert db.execute("select count(*) from raw.detection_changes where changed_xid < %s", (mark(),)).fetchone() == (0,)
    pruned_below, deleted = db.execute("select pruned_below_xid, rows_deleted from raw.detection_changes_pruned "
                                       "order by pruned_at desc limit 1").fetchone()
    assert deleted >= 2 and pruned_below <= mark()

    with psycopg.connect(built, autocommit=True) as conn:
        conn.execute("set role dcv_transform")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from raw.detection_changes")

    # a reader that never saw 'pruned' (its rows gone, its position from before the pruning)
    db.execute("delete from intermediate.int_detection_versions_derived where native_id = 'trail:pruned'")
    db.execute("update intermediate.int_detection_versions_derived set changes_from_xid = 0")
    dbt_run("--select", "int_detection_versions_derived", *keep_none)
    daily = versions()
    assert db.execute("select count(*) from intermediate.int_detection_versions_derived "
                      "where native_id = 'trail:pruned'").fetchone() == (1,)
    dbt_run("--full-refresh", "--select", "int_detection_versions_derived")
    assert versions() == daily


def test_a_mart_built_alone_reads_its_intermediate_only_as_far_as_that_has_read(built, db):
    """Building `detections` alone (as materializing that one asset in the Dagster UI does) must not skip what its
    intermediate has not assembled yet: the new detection arrives when both are built."""
    account = "310987654321"
    with psycopg.connect(built) as conn:
        store_partition(conn, date(2026, 4, 20), [AccountScan(
            "aws", account, datetime.now(UTC), [{**metric_filter("alone", "M"), "account_id": account}],
            completed_at=datetime.now(UTC))])
    dbt_run("--select", "int_detection_versions_derived")

    def in_mart():
        return db.execute("select count(*) from marts.detections where account_identifier = %s",
                          (account,)).fetchone()[0]

    dbt_run("--select", "detections")
    assert in_mart() == 0  # not assembled yet
    dbt_run("--select", "int_detections_assembled", "detections")
    assert in_mart() == 1


def test_health_follows_what_its_verdict_reads_not_only_changed_detections(built, db):
    """A daily build computes health again only for detections whose verdict can have changed: those a load
    changed, metric filters feeding a metric an alarm began or stopped watching, and alarms whose 30-day
    trigger window moved past a trigger. Everything else is not even read, and the result equals a full rebuild."""
    account = "510987654321"
    triggered = [{"HistorySummary": "Alarm updated from OK to ALARM", "Timestamp": "2026-04-10T08:00:00Z"}]

    def load(day, records):
        with psycopg.connect(built) as conn:
            store_partition(conn, day, [AccountScan("aws", account, datetime(2026, day.month, day.day, tzinfo=UTC),
                                                    [{**r, "account_id": account} for r in records],
                                                    completed_at=datetime.now(UTC), regions=[REGION])])
        dbt_run("--select", "+detection_health", "--exclude", "path:models/marts/attack",
                "path:models/intermediate/attack")

    def health():
        return {name.split(":")[-1].split("/")[-1]: tuple(row) for name, *row in db.execute(
            """select d.native_id, h.status, h.error_details, h.trigger_count_30d, h.last_validated
               from marts.detection_health as h inner join marts.detections as d on h.detection_id = d.id
               where d.account_identifier = %s""", (account,)).fetchall()}

    watched, lonely, unchanged = metric_filter("watched", "Watched"), metric_filter("lonely", "Lonely"), rule("unchanged")
    quiet = alarm("quiet", "Quiet", history=triggered)
    load(date(2026, 4, 25), [watched, alarm("watcher", "Watched"), lonely, quiet, unchanged])
    unwatched = ("broken", "broken: metric filter feeds a metric no alarm watches", 0)
    assert {name: row[:3] for name, row in health().items()} == {
        "watched": ("healthy", None, 0), "watcher": ("healthy", None, 0), "lonely": unwatched,
        "quiet": ("healthy", None, 1), "unchanged": ("healthy", None, 0)}
    # a stand-in for work a scoped run must skip: a run that computed this detection again would restore it
    db.execute("""update marts.detection_health_findings set error_details = 'not computed again'
                  where detection_id = (select id from marts.detections where native_id like '%%rule/unchanged')""")

    load(date(2026, 5, 15), [watched, lonely, quiet, unchanged])  # the watcher alarm is gone; no filter changed
    after = health()
    assert after["watched"][:3] == unwatched
    # not firing for 30 days is information, not degradation: a good alarm on a rare event rarely fires
    assert after["quiet"][:3] == ("healthy", None, 0)
    assert db.execute("""select h.issues_found from marts.detection_health_findings as h
                         inner join marts.detections as d on h.detection_id = d.id
                         where d.native_id like '%%alarm:quiet' and d.is_current""").fetchone() == (
        ["info: not triggered in 30 days"],)
    load(date(2026, 5, 16), [watched, lonely, alarm("rescuer", "Lonely"), quiet, unchanged])  # a new alarm
    after = health()
    assert after["lonely"][:2] == ("healthy", None)
    assert after["unchanged"][1] == "not computed again"
    assert {row[3] for row in after.values()} == {datetime(2026, 5, 16)}, "validated by the account's last scan"
    load(date(2026, 5, 17), [watched, lonely, alarm("rescuer", "Lonely", actions=()), quiet, unchanged])
    after = health()  # the only alarm on lonely's metric lost its actions: a new alarm version, and lonely is found
    assert after["lonely"][:2] == ("broken", "broken: no alarm on its metric can alert: rescuer (alarm has no actions)")

    daily = {name: row for name, row in after.items() if name != "unchanged"}
    dbt_run("--full-refresh", "--select", "detection_health_findings", "detection_health")
    rebuilt = health()
    assert rebuilt.pop("unchanged")[:2] == ("healthy", None)
    assert rebuilt == daily


def test_a_rebuild_leaves_no_replaced_table_behind_and_keys_follow_the_tables_they_reference(built, db):
    """Replaced tables are renamed aside during a build and dropped when it ends (macros/retire_replaced_tables.sql):
    none is left, and the rebuilt health keeps one row per live detection and its keys. An incremental mart's
    keys move to the new copy of a table rebuilt beside it (accounts), rather than being dropped with the old."""
    dbt_run("--select", "accounts", "detections")

    def keys(table):
        return sorted(db.execute("select confrelid::regclass::text from pg_constraint where contype = 'f' "
                                 "and conrelid = %s::regclass", (table,)).fetchall())

    assert keys("marts.detections") == [("marts.accounts",), ("marts.detection_services",), ("marts.detection_types",),
                                        ("marts.detections",)]  # previous_version_id
    dbt_run("--full-refresh", "--select", "detection_deprecation_impact", "detection_health_findings", "detection_health")
    live = db.execute("select count(*) from marts.detections where is_current").fetchone()
    assert live[0] > 0 and db.execute("select count(*) from marts.detection_health").fetchone() == live
    assert db.execute("select relname from pg_class where relname like '%%dbt_backup%%'").fetchall() == []
    assert keys("marts.detection_health_findings") == [("marts.accounts",), ("marts.detections",)]
