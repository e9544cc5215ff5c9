"""The daily job as the schedule runs it: every asset for one partition in one real Dagster run (ATT&CK and
knowledge loaded, export ingested, parsed, dbt built, layers written). What it must show is that day's scan."""

import json
import os
from datetime import date

import pytest

from dagster_project.lib import sample_org
from dagster_project.lib.attack import sources
from dagster_project.lib.settings import load as load_settings
from dagster_project.lib.warehouse.dbt_window import MAX_DATE, MIN_DATE

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def daily_run(shared_dir, dbt_manifest, warehouse_url, dagster_instance, tmp_path_factory):
    home = tmp_path_factory.mktemp("dcv_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DCV_HOME", str(home))
        env.setenv("DCV_EXPORT_DIR", str(home / "exports"))
        env.setenv("DCV_ATTACK_SOURCE", ",".join(sources.local_attack_sources(load_settings())))
        # a past day reads its own dated folder (docs/export-layout.md, "Days")
        counts = sample_org.write_export(home / "exports" / DAY.isoformat(), accounts=2, detections_per_account=25,
                                         seed=3, day=DAY)
        from dagster_project.definitions import defs

        result = defs.resolve_job_def("daily_scan").execute_in_process(
            partition_key=DAY.isoformat(), instance=dagster_instance)
        assert result.success
        window_left = {k: os.environ[k] for k in (MIN_DATE, MAX_DATE) if k in os.environ}
        yield counts, home, window_left


def test_the_marts_show_the_day_the_same_run_loaded(daily_run, db):
    counts, _, _ = daily_run
    live = db.execute("select count(*) from marts.detections where is_current").fetchone()[0]
    scanned = db.execute("select sum(total_detections) from marts.scan_snapshots where scan_day = %s",
                         (DAY,)).fetchone()[0]
    assert live == scanned == counts["detections"]


def test_the_day_has_coverage_history_and_scores(daily_run, db):
    history = db.execute("select count(*) from marts.coverage_history where timestamp::date = %s", (DAY,)).fetchone()
    covered = db.execute("select sum(covered_techniques) from marts.coverage_scores where calculated_at::date = %s",
                         (DAY,)).fetchone()
    assert history[0] > 0 and covered[0] > 0


def test_layers_are_written_for_each_account_and_the_organization(daily_run):
    _, home, _ = daily_run
    layers = sorted(p.name for p in (home / "layers").glob("*.json"))
    # two accounts, the organization, its gaps and (replay has run on the shared scenarios) its replay-confirmed
    assert {"organization.json", "organization-gaps.json", "organization-replay.json"} <= set(layers)
    assert len(layers) == 5


def test_the_summary_of_the_day_names_its_accounts(daily_run, warehouse_url):
    """What `dcv run` and `dcv summary --day` print: each account the day scanned, by id and name."""
    from dagster_project.lib.reports import summary

    _, home, _ = daily_run
    listing = json.loads((home / "exports" / DAY.isoformat() / "organizations" / "list-accounts.json").read_text())
    text = summary.render(warehouse_url, day=DAY)
    assert f"Coverage summary for {DAY}" in text
    for account in listing["Accounts"]:
        assert any(account["Id"] in line and account["Name"][:28] in line for line in text.splitlines())


def test_the_run_leaves_no_partition_window_behind(daily_run):
    """dbt reads the window from the environment: left in this process, it would narrow every later build to
    that day (a build by hand, the next step of an in-process run, the next test)."""
    _, _, window_left = daily_run
    assert window_left == {}


def test_asset_pages_say_what_the_run_did_to_each_table(daily_run, dagster_instance):
    """Each raw table of the ingest gets its own figures; each dbt table its row count and columns."""
    import dagster as dg

    def metadata(*key):
        event = dagster_instance.get_latest_materialization_event(dg.AssetKey(list(key)))
        return event.asset_materialization.metadata

    counts, _, _ = daily_run
    scans = metadata("raw", "scans")
    assert scans["scans"].value == 2 and scans["by_status"].value == {"completed": 2}
    assert metadata("raw", "detection_presence")["detections_live_on_last_day"].value == counts["detections"]
    assert "new_contents" in metadata("raw", "detection_contents")
    assert metadata("raw", "detection_contents").keys() != scans.keys()
    gaps = metadata("marts", "coverage_gaps")
    assert gaps["dagster/row_count"].value > 0
    assert {"technique_id", "risk_score", "severity"} <= {c.name for c in gaps["dagster/column_schema"].value.columns}


def test_the_summarys_unconfirmed_claims_are_claims_coverage_counts(daily_run, warehouse_url, db):
    """The summary's "never firing" list holds only mappings coverage counts, of detections that alert: a guess
    below the threshold or a broken detection claims nothing replay could fail to confirm."""
    from dagster_project.lib import settings
    from dagster_project.lib.reports import summary

    unconfirmed = db.execute("""
        select d.name || ' -> ' || v.attack_technique_id,
            bool_or(dm.confidence_score >= %s and not exists (
                select from marts.detection_health_findings as h
                where h.detection_id = d.id and h.status = 'broken')) as claimed_by_an_alerting_detection
        from marts.detection_mapping_validations as v
        inner join marts.detection_mappings as dm on v.mapping_id = dm.id
        inner join marts.detections as d on v.detection_id = d.id
        where v.validation_status = 'not_confirmed' and d.is_current and d.status = 'enabled'
        group by 1""", (settings.coverage_min_confidence(),)).fetchall()
    never_claimed = [pair for pair, claimed in unconfirmed if not claimed]
    assert never_claimed, "the sample has guesses and broken detections that replay does not confirm"
    text = summary.render(warehouse_url, day=DAY)
    assert not [pair for pair in never_claimed if f" {pair} (confidence" in text]
    claimed = [pair for pair, is_claimed in unconfirmed if is_claimed]
    assert ("never firing on the technique's scenarios" in text) == bool(claimed)
