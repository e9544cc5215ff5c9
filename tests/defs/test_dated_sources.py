"""The ingest assets through real Dagster materializations: each day reads its own dated export folder, a past
day of an undated export fails the step with one line and writes nothing, and a day whose folder is gone is
re-derived from the snapshots its first load wrote (docs/export-layout.md, "Days")."""

import shutil
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from dagster_project.lib import sample_org

TODAY = datetime.now(UTC).date()
DAY_1, DAY_2 = TODAY - timedelta(days=3), TODAY - timedelta(days=2)
KEYS = [dg.AssetKey(["raw", "org_accounts"]), dg.AssetKey(["raw", "detection_contents"])]


def materialize(instance, day: date) -> dg.ExecuteInProcessResult:
    from dagster_project.definitions import defs

    assets = [defs.get_assets_def(KEYS[0]), defs.get_assets_def(KEYS[1])]
    return dg.materialize(assets, partition_key=day.isoformat(), instance=instance, resources=defs.resources,
                          raise_on_error=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory, warehouse_url, dagster_instance):
    root = tmp_path_factory.mktemp("dcv_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DCV_HOME", str(root))
        env.setenv("DCV_EXPORT_DIR", str(root / "exports"))
        for name in ("DCV_AWS_ROLE_NAME", "DCV_RULE_REPOS", "DCV_SNAPSHOT_URI"):
            env.delenv(name, raising=False)
        # the days differ in size, so a day given the other's export would show
        counts = {day: sample_org.write_export(root / "exports" / day.isoformat(), accounts=2,
                                               detections_per_account=size, seed=3, day=day)
                  for day, size in ((DAY_1, 20), (DAY_2, 30))}
        for day in (DAY_1, DAY_2):
            assert materialize(dagster_instance, day).success
        yield root, counts, env


def presence(db):
    return db.execute("select source, account_id, region, service, native_id, content_hash, state_hash, valid_from, "
                      "valid_to from raw.detection_presence order by 1, 2, 3, 4, 5, 8").fetchall()


def test_each_day_reads_its_own_folder(home, db):
    root, counts, _ = home
    for day in (DAY_1, DAY_2):
        seen = db.execute("select sum(detections_seen) from raw.scans where partition_date = %s and source = 'export'",
                          (day,)).fetchone()[0]
        sources = db.execute("select distinct source from raw.org_accounts where partition_date = %s",
                             (day,)).fetchall()
        assert seen == counts[day]["detections"]
        assert sources == [(f"export:{root / 'exports' / day.isoformat()}",)]
    assert counts[DAY_1]["detections"] != counts[DAY_2]["detections"]
    assert (root / "snapshots" / "organizations" / DAY_1.isoformat() / "list-accounts.json.gz").is_file()


def test_a_past_day_of_an_undated_export_fails_in_one_line_and_writes_nothing(home, db, dagster_instance,
                                                                                tmp_path):
    _, _, env = home
    undated = tmp_path / "undated"
    sample_org.write_export(undated, accounts=2, detections_per_account=20, seed=3, day=TODAY)
    env.setenv("DCV_EXPORT_DIR", str(undated))
    try:
        past = TODAY - timedelta(days=5)
        result = materialize(dagster_instance, past)
    finally:
        env.setenv("DCV_EXPORT_DIR", str(home[0] / "exports"))
    assert not result.success
    failures = result.get_step_failure_events()
    assert failures
    expected = (f"DCV_EXPORT_DIR {undated} is not dated (no YYYY-MM-DD/ folders): it describes today, {TODAY} (UTC), "
                f"not {past}; to load past days put each day's export in {undated}/YYYY-MM-DD/ "
                f"(docs/export-layout.md); nor does {home[0] / 'snapshots'} hold export snapshots of {past}")
    for failure in failures:
        assert failure.step_failure_data.user_failure_data.description == expected
    assert db.execute("select count(*) from raw.scans where partition_date = %s", (past,)).fetchone()[0] == 0
    assert db.execute("select count(*) from raw.org_accounts where partition_date = %s", (past,)).fetchone()[0] == 0


def test_a_day_whose_folder_is_gone_is_re_derived_from_its_snapshots(home, db, dagster_instance):
    root, counts, _ = home
    before = presence(db)
    accounts_before = db.execute("select account_id, account_name, status from raw.org_accounts "
                                 "where partition_date = %s order by 1", (DAY_1,)).fetchall()
    shutil.rmtree(root / "exports" / DAY_1.isoformat())
    assert materialize(dagster_instance, DAY_1).success
    assert presence(db) == before  # the same intervals: DAY_1 holds what it held
    seen = db.execute("select sum(detections_seen) from raw.scans where partition_date = %s and source = 'export'",
                      (DAY_1,)).fetchone()[0]
    assert seen == counts[DAY_1]["detections"]
    rows = db.execute("select account_id, account_name, status from raw.org_accounts where partition_date = %s "
                      "order by 1", (DAY_1,)).fetchall()
    sources = db.execute("select distinct source from raw.org_accounts where partition_date = %s", (DAY_1,)).fetchall()
    assert rows == accounts_before and sources[0][0].startswith("snapshot:")
