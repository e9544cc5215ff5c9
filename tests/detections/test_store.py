"""Raw detection storage: idempotent per day, growth follows churn, backfills split and merge correctly."""

import gzip
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from dagster_project.lib.detections.snapshots import SnapshotWriter
from dagster_project.lib.detections.store import AccountScan, store_partition

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
ACCOUNT = "111111111111"


def rule(name, pattern="{ $.eventName = ConsoleLogin }", region="us-east-1", service="cloudwatch_logs"):
    return {"provider": "aws", "account_id": ACCOUNT, "region": region, "service": service,
            "detection_type": "metric_filter", "native_id": f"trail:{name}", "name": name,
            "api_object": {"filterName": name, "filterPattern": pattern, "logGroupName": "trail"}, "related": {}}


def alarm(name, state):
    return {"provider": "aws", "account_id": ACCOUNT, "region": "us-east-1", "service": "cloudwatch",
            "detection_type": "metric_alarm", "native_id": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}",
            "name": name, "api_object": {"AlarmName": name, "MetricName": name, "StateValue": state},
            "related": {}}


DANGLING = """select count(*) from raw.detection_presence as p
where not exists (select from raw.detection_contents as c where c.content_hash = p.content_hash)
    or (p.state_hash is not null
        and not exists (select from raw.detection_contents as c where c.content_hash = p.state_hash))"""


def load(url, day, records, **scan):
    with psycopg.connect(url) as conn:
        stats = store_partition(conn, day, [AccountScan("aws", ACCOUNT, datetime.now(UTC), records, **scan)])
        # presence has no foreign keys (migration 0010): every load must still leave no interval without its
        # configuration or state
        assert conn.execute(DANGLING).fetchone()[0] == 0
        return stats


def presence(db):
    return db.execute("select native_id, valid_from, valid_to from raw.detection_presence "
                      "order by native_id, valid_from").fetchall()


def sizes(db):
    return db.execute("select (select count(*) from raw.detection_contents), "
                      "(select count(*) from raw.detection_presence)").fetchone()


@pytest.fixture(autouse=True)
def empty(db):
    db.execute("truncate raw.detection_presence, raw.declared_mappings, raw.detection_contents, raw.scans cascade")


def test_same_day_three_times_changes_nothing(warehouse_url, db):
    for _ in range(3):
        load(warehouse_url, D1, [rule("a"), rule("b")])
    assert presence(db) == [("trail:a", D1, None), ("trail:b", D1, None)]
    assert db.execute("select count(*), min(status) from raw.scans").fetchone() == (1, "completed")


def test_unchanged_day_adds_no_rows(warehouse_url, db):
    load(warehouse_url, D1, [rule("a"), rule("b")])
    before = sizes(db)
    stats = load(warehouse_url, D2, [rule("a"), rule("b")])
    assert sizes(db) == before and stats.intervals_opened == 0 and stats.intervals_closed == 0


def test_change_remove_add(warehouse_url, db):
    load(warehouse_url, D1, [rule("a"), rule("b"), rule("c")])
    stats = load(warehouse_url, D2, [rule("a"), rule("b", "{ $.eventName = StopLogging }"), rule("d")])
    assert presence(db) == [
        ("trail:a", D1, None),
        ("trail:b", D1, D2), ("trail:b", D2, None),   # modified: a new version from D2
        ("trail:c", D1, D2),                         # removed on D2
        ("trail:d", D2, None),                       # added on D2
    ]
    assert (stats.intervals_opened, stats.intervals_closed) == (2, 2)
    load(warehouse_url, D2, [rule("a"), rule("b", "{ $.eventName = StopLogging }"), rule("d")])
    assert len(presence(db)) == 5, "re-running D2 must not duplicate"


def test_backfill_of_an_earlier_day_splits_and_merges(warehouse_url, db):
    load(warehouse_url, D1, [rule("a"), rule("x")])
    load(warehouse_url, D3, [rule("a"), rule("x")])
    assert presence(db) == [("trail:a", D1, None), ("trail:x", D1, None)]
    load(warehouse_url, D2, [rule("a")])  # x was missing on D2 only
    assert presence(db) == [("trail:a", D1, None), ("trail:x", D1, D2), ("trail:x", D3, None)]
    load(warehouse_url, D2, [rule("a"), rule("x")])  # corrected re-run of D2 merges x back into one interval
    assert presence(db) == [("trail:a", D1, None), ("trail:x", D1, None)]


def test_alarm_state_is_not_a_new_version(warehouse_url, db):
    load(warehouse_url, D1, [alarm("root-usage", "OK")])
    load(warehouse_url, D2, [alarm("root-usage", "ALARM")])
    rows = db.execute("select content_hash, state_hash, valid_from, valid_to from raw.detection_presence "
                      "order by valid_from").fetchall()
    assert len(rows) == 2 and rows[0][0] == rows[1][0], "same configuration hash across the state change"
    assert rows[0][1] != rows[1][1]
    state = db.execute("select document from raw.detection_contents where content_hash = %s", (rows[1][1],)).fetchone()
    assert state == ({"StateValue": "ALARM"},)


def test_failed_service_scope_keeps_its_detections(warehouse_url, db):
    load(warehouse_url, D1, [rule("a"), rule("gd", service="guardduty")])
    load(warehouse_url, D2, [rule("a")], status="partial", failed_scopes={("us-east-1", "guardduty")},
         errors=[{"service": "guardduty", "error_code": "AccessDeniedException"}])
    assert presence(db) == [("trail:a", D1, None), ("trail:gd", D1, None)]
    assert db.execute("select status, errors->0->>'error_code' from raw.scans where partition_date = %s",
                      (D2,)).fetchone() == ("partial", "AccessDeniedException")


def test_failed_scan_changes_no_presence(warehouse_url, db):
    load(warehouse_url, D1, [rule("a")])
    load(warehouse_url, D2, [], status="failed", errors=[{"error_code": "AccessDenied"}])
    assert presence(db) == [("trail:a", D1, None)]


def test_bad_record_is_rejected_and_the_rest_loads(warehouse_url, db):
    stats = load(warehouse_url, D1, [rule("a"), {"provider": "aws", "service": "x"}, "garbage"])
    assert presence(db) == [("trail:a", D1, None)]
    assert len(stats.rejects) == 2 and "lacks" in stats.rejects[0][1]


def test_snapshot_file_matches_its_recorded_checksum(warehouse_url, db, tmp_path):
    with psycopg.connect(warehouse_url) as conn:
        store_partition(conn, D1, [AccountScan("aws", ACCOUNT, datetime.now(UTC), [rule("a")])],
                        snapshots=SnapshotWriter(tmp_path))
    location, sha, size = db.execute("select snapshot_location, snapshot_sha256, compressed_bytes "
                                     "from raw.scans").fetchone()
    data = Path(location).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha and len(data) == size
    assert json.loads(gzip.decompress(data))["records"][0]["native_id"] == "trail:a"


def test_unchanged_export_scopes_are_skipped_with_the_same_result(warehouse_url, db, tmp_path):
    """A daily load skips each scope (one service's files in one region) whose files equal the previous
    scan's; presence and per-scan counts come out exactly as when every file is read, in any load order; and
    everything, snapshot files included, is the same whether files are read here or in reader processes, and
    whether the readers stage only what differs from the previous versions or everything they read."""
    from dagster_project.defs.detections.collect import export_scans
    from dagster_project.lib import sample_org
    from dagster_project.lib.detections.store import previous_scope_digests, previous_versions

    staged_rows, recognised = [], []

    def counting(scans):
        for scan in scans:
            staged_rows.append(len(scan.staged.rows))
            recognised.append(scan.staged.recognised)
            yield scan

    def run(skip: bool, days, workers: int = 1, diffed: bool = False) -> tuple[list, int, list]:
        db.execute("truncate raw.detection_presence, raw.detection_contents, raw.scans cascade")
        staged_rows.clear()
        recognised.clear()
        skipped, snapshots = 0, SnapshotWriter(tmp_path / f"snapshots-{skip}-{workers}-{diffed}")
        for day in days:
            sample_org.write_export(tmp_path / day.isoformat(), accounts=2, detections_per_account=80, seed=3, day=day)
            with psycopg.connect(warehouse_url) as conn, psycopg.connect(warehouse_url, autocommit=True) as reader:
                known = previous_scope_digests(conn, "export", day) if skip else None
                versions = previous_versions(reader, "export", day) if diffed else None
                scans = export_scans(tmp_path / day.isoformat(), [], known, workers=workers, keep_json=True,
                                     versions=versions)
                skipped += store_partition(conn, day, counting(scans), snapshots=snapshots).scopes_unchanged
        rows = db.execute("select source, account_id, region, service, native_id, content_hash, state_hash, "
                          "valid_from, valid_to from raw.detection_presence order by 1, 2, 3, 4, 5, 8").fetchall()
        counts = db.execute("select account_id, partition_date, detections_seen, regions_scanned, services_scanned "
                            "from raw.scans order by 1, 2").fetchall()
        files = db.execute("select snapshot_location from raw.scans order by account_id, partition_date").fetchall()
        return rows + counts, skipped, [gzip.decompress(Path(f).read_bytes()) for (f,) in files]

    days = [D1, D2, D3, date(2026, 3, 10), D2, date(2026, 3, 6)]  # a gap, a loaded day again, a backfill
    skipping, skipped, snapshots = run(True, days)
    reading_all, none_skipped, _ = run(False, days)
    assert none_skipped == 0 and skipped > 10
    assert skipping == reading_all
    assert run(True, days, workers=2) == (skipping, skipped, snapshots)
    after_day_one = sum(staged_rows[2:])  # two accounts a day
    assert sum(recognised) == 0  # without the previous versions every record is split
    assert run(True, days, workers=2, diffed=True) == (skipping, skipped, snapshots)
    # the first day stages everything either way; after it, only what changed goes to PostgreSQL, and most
    # records read are known unchanged by their digest alone
    assert 0 < sum(staged_rows[2:]) < after_day_one / 4
    assert sum(recognised[2:]) > 3 * sum(staged_rows[2:])
    assert run(False, days, diffed=True)[0] == reading_all


def test_snapshot_holds_the_payload_with_each_record_as_read():
    """The store splices each account's snapshot from its records' JSON (made in a reader process); the text
    must read back as the whole payload, records in the key order they were read in, and be the same text every
    time the same records are read (snapshot checksums)."""
    from dagster_project.lib.detections import record as rec
    from dagster_project.lib.detections.store import AccountScan, snapshot_json, stage

    records = [rule("a"), alarm("b", "ALARM"), {**rule("c"), "related": {"x": 1e-07, "y": "é", "z": 2 ** 70}}]
    carried = {"us-east-1/config": D1, "eu-west-1/guardduty": D2}
    payload = {"source": "export", "account_id": ACCOUNT, "day": D3, "records": records, "carried": carried}

    def staged_json():
        scan = AccountScan("export", ACCOUNT, datetime.now(UTC), [dict(r) for r in records])
        return stage(scan, keep_json=True, previous={}).records_json

    text = snapshot_json("export", ACCOUNT, D3, staged_json(), carried)
    assert json.loads(text) == json.loads(rec.canonical_json(payload))
    assert [list(r) for r in json.loads(text)["records"]] == [list(r) for r in records]
    assert snapshot_json("export", ACCOUNT, D3, staged_json(), carried) == text
    assert json.loads(snapshot_json("export", ACCOUNT, D3, b"[]", {}))["records"] == []


def test_records_read_in_another_form_are_split_and_their_digest_renewed(warehouse_url, db):
    """A record's digest is taken from its text as read; one read in another key order (or stored before digests
    were kept) is split again, found unchanged (no new interval) and its interval takes the new digest, so the
    next day recognises it without a split."""
    from dagster_project.lib.detections import record as rec
    from dagster_project.lib.detections.store import previous_versions, stage

    def diffed_load(day, records):
        with psycopg.connect(warehouse_url) as conn, psycopg.connect(warehouse_url, autocommit=True) as reader:
            scan = AccountScan("aws", ACCOUNT, datetime.now(UTC), records)
            scan.staged = stage(scan, previous=previous_versions(reader, "aws", day)(ACCOUNT))
            store_partition(conn, day, [scan])
            return scan.staged

    records = [rule("a"), alarm("b", "OK")]
    assert diffed_load(D1, records).recognised == 0
    db.execute("update raw.detection_presence set record_digest = null where native_id = 'trail:a'")
    reordered = {k: records[1][k] for k in reversed(list(records[1]))}
    assert rec.record_digest(rec.plain_json(reordered)) != rec.record_digest(rec.plain_json(records[1]))
    day2 = diffed_load(D2, [records[0], reordered])
    assert (day2.recognised, len(day2.rows), len(day2.redigest)) == (0, 0, 2)
    assert presence(db) == [("arn:aws:cloudwatch:us-east-1:111111111111:alarm:b", D1, None), ("trail:a", D1, None)]
    day3 = diffed_load(D3, [records[0], reordered])
    assert (day3.recognised, len(day3.rows), len(day3.redigest)) == (2, 0, 0)
    # a changed record is never taken for its old version: the alarm's state moved, so it gets a new interval
    day3_again = diffed_load(D3, [records[0], alarm("b", "ALARM")])
    assert (day3_again.recognised, len(day3_again.rows)) == (1, 1)
    assert presence(db)[:2] == [("arn:aws:cloudwatch:us-east-1:111111111111:alarm:b", D1, D3),
                                ("arn:aws:cloudwatch:us-east-1:111111111111:alarm:b", D3, None)]
