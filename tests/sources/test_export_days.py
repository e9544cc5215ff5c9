"""Sources are addressed by day: a dated export folder, today's undated export, or that day's snapshots — and a
one-line refusal otherwise (docs/export-layout.md, "Days")."""

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from dagster_project.lib import settings
from dagster_project.lib.detections.snapshots import SnapshotReader
from dagster_project.lib.sources.days import first_local_day, plan_day, plan_days
from dagster_project.lib.sources.exports import NotThatDay, dated_days, export_dir_for_day

TODAY = date(2026, 12, 7)


def dated(root: Path, *days: str) -> Path:
    for day in days:
        (root / day / "organizations").mkdir(parents=True)
    return root


def undated(root: Path) -> Path:
    (root / "organizations").mkdir(parents=True)
    (root / "accounts").mkdir()
    return root


def test_a_dated_export_gives_each_day_its_own_folder(tmp_path):
    root = dated(tmp_path / "x", "2026-12-01", "2026-12-02", "2026-12-07")
    assert dated_days(root) == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 7)]
    assert export_dir_for_day(root, date(2026, 12, 1), TODAY) == root / "2026-12-01"
    assert export_dir_for_day(root, TODAY, TODAY) == root / "2026-12-07"


def test_an_undated_export_describes_today_only(tmp_path):
    root = undated(tmp_path / "x")
    assert export_dir_for_day(root, TODAY, TODAY) == root
    with pytest.raises(NotThatDay) as refused:
        export_dir_for_day(root, date(2026, 12, 1), TODAY)
    message = str(refused.value)
    assert message.startswith(f"DCV_EXPORT_DIR {root} is not dated (no YYYY-MM-DD/ folders): it describes today, "
                              "2026-12-07 (UTC), not 2026-12-01;")
    assert "\n" not in message and f"{root}/YYYY-MM-DD/" in message
    with pytest.raises(NotThatDay, match="not 2026-12-08"):
        export_dir_for_day(root, date(2026, 12, 8), TODAY)  # nor a day that has not come


def test_a_day_the_dated_export_lacks_names_the_nearest_days(tmp_path):
    root = dated(tmp_path / "x", "2026-11-20", "2026-11-28", "2026-11-30", "2026-12-02", "2026-12-07")
    with pytest.raises(NotThatDay) as refused:
        export_dir_for_day(root, date(2026, 12, 1), TODAY)
    assert str(refused.value) == (f"DCV_EXPORT_DIR {root} has no 2026-12-01/ folder (nearest days it holds: "
                                  "2026-11-28, 2026-11-30, 2026-12-02; 5 in all, 2026-11-20 to 2026-12-07)")


def test_dated_folders_beside_an_undated_export_are_refused(tmp_path):
    root = undated(dated(tmp_path / "x", "2026-12-01"))
    with pytest.raises(NotThatDay, match="both dated folders .* and an undated export"):
        export_dir_for_day(root, date(2026, 12, 1), TODAY)


def test_folders_that_are_not_days_do_not_make_an_export_dated(tmp_path):
    root = undated(tmp_path / "x")
    (root / "2026-13-01").mkdir()
    (root / "notes").mkdir()
    assert dated_days(root) == []
    assert export_dir_for_day(root, TODAY, TODAY) == root


def write_snapshot(root: Path, source: str, day: str, account: str, records: list, carried: dict | None = None):
    path = root / source / day / f"{account}.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"account_id": account, "carried": carried or {}, "day": day,
                                               "records": records, "source": source}).encode()))


def config(tmp_path, monkeypatch, export_dir: Path, role: str | None = None) -> settings.Settings:
    monkeypatch.setenv("DCV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DCV_EXPORT_DIR", str(export_dir))
    monkeypatch.delenv("DCV_SNAPSHOT_URI", raising=False)
    if role:
        monkeypatch.setenv("DCV_AWS_ROLE_NAME", role)
    else:
        monkeypatch.delenv("DCV_AWS_ROLE_NAME", raising=False)
    return settings.load()


def test_a_past_day_without_an_export_is_re_derived_from_its_snapshots(tmp_path, monkeypatch):
    cfg = config(tmp_path, monkeypatch, undated(tmp_path / "x"))
    write_snapshot(cfg.snapshot_dir, "export", "2026-12-01", "111111111111", [])
    plan = plan_day(cfg, date(2026, 12, 1), TODAY)
    assert plan.export_dir is None and plan.export_snapshots
    today = plan_day(cfg, TODAY, TODAY)
    assert today.export_dir == cfg.export_dir and not today.export_snapshots
    with pytest.raises(NotThatDay, match=f"nor does {cfg.snapshot_dir} hold export snapshots of 2026-11-30$"):
        plan_day(cfg, date(2026, 11, 30), TODAY)


def test_one_day_no_source_describes_stops_the_whole_range(tmp_path, monkeypatch):
    cfg = config(tmp_path, monkeypatch, dated(tmp_path / "x", "2026-12-01", "2026-12-03"))
    with pytest.raises(NotThatDay, match="has no 2026-12-02/ folder"):
        plan_days(cfg, [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)], TODAY)


def test_live_aws_refuses_a_past_day_unless_its_snapshots_exist(tmp_path, monkeypatch):
    cfg = config(tmp_path, monkeypatch, tmp_path / "absent", role="dcv-read")
    assert plan_day(cfg, TODAY, TODAY).aws_live
    with pytest.raises(NotThatDay) as refused:
        plan_day(cfg, date(2026, 12, 1), TODAY)
    assert str(refused.value).startswith("live AWS collection (DCV_AWS_ROLE_NAME) sees the accounts as they are "
                                         "today, 2026-12-07 (UTC), not 2026-12-01")
    write_snapshot(cfg.snapshot_dir, "aws", "2026-12-01", "111111111111", [])
    plan = plan_day(cfg, date(2026, 12, 1), TODAY)
    assert plan.aws_snapshots and not plan.aws_live


def record(region: str, service: str, native_id: str) -> dict:
    return {"account_id": "111111111111", "region": region, "service": service, "native_id": native_id}


def test_a_snapshot_reads_the_scopes_it_carried_from_the_day_that_read_them(tmp_path):
    root = tmp_path / "snapshots"
    write_snapshot(root, "export", "2026-12-01", "111111111111",
                   [record("us-east-1", "config", "a"), record("us-east-1", "eventbridge", "b")])
    write_snapshot(root, "export", "2026-12-02", "111111111111", [record("us-east-1", "config", "c")],
                   carried={"us-east-1/eventbridge": "2026-12-01"})
    reader = SnapshotReader(root)
    assert reader.accounts("export", date(2026, 12, 2)) == ["111111111111"]
    ids = sorted(r["native_id"] for r in reader.records("export", date(2026, 12, 2), "111111111111"))
    assert ids == ["b", "c"]  # config read again that day (c), eventbridge carried from the 1st (b), not a
    (root / "export" / "2026-12-01" / "111111111111.json.gz").unlink()
    with pytest.raises(FileNotFoundError, match="us-east-1/eventbridge for 2026-12-02"):
        reader.records("export", date(2026, 12, 2), "111111111111")


def test_the_demo_writes_dated_sample_days_and_never_into_a_real_export(tmp_path):
    from dagster_project.lib import sample_org

    exports = tmp_path / "exports"
    sample_org.write_export(exports, accounts=1, detections_per_account=5)  # an undated sample, as demos wrote
    sample_org.prepare_dated_export(exports)
    assert not exports.exists()  # a generated sample: removed
    sample_org.write_export(exports / "2026-12-06", accounts=1, detections_per_account=5)
    sample_org.prepare_dated_export(exports)
    assert dated_days(exports) == [date(2026, 12, 6)]  # sample days stay
    (exports / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"not generated sample days \(notes.txt\)"):
        sample_org.prepare_dated_export(exports)


def test_partitions_start_at_the_earliest_local_day(tmp_path, monkeypatch):
    """The Dagster partitions begin where the data does: the earliest dated export folder or snapshot day."""
    monkeypatch.setenv("DCV_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DCV_EXPORT_DIR", str(tmp_path / "exports"))
    assert first_local_day(settings.load()) is None  # nothing yet: the fixed fallback applies
    dated(tmp_path / "exports", "2026-12-05", "2026-12-06")
    (tmp_path / "exports" / "notes").mkdir()
    assert first_local_day(settings.load()) == date(2026, 12, 5)
    (tmp_path / "home" / "snapshots" / "export" / "2026-11-30").mkdir(parents=True)
    (tmp_path / "home" / "snapshots" / "export" / "2026-13-01").mkdir()
    assert first_local_day(settings.load()) == date(2026, 11, 30)
