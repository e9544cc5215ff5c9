"""`dcv run` / `dcv summary`: arguments and sources checked with one line before anything starts, and the
Dagster run's steps echoed as they start and end."""

from datetime import date, timedelta

import pytest

from dagster_project import cli
from dagster_project.run import Progress, day_range

TODAY = date(2026, 12, 7)
RUN = "2026-12-07 07:51:57 +0000 - dagster - {level} - __ASSET_JOB - 6d7094ff-9892-4bc3-9671-e3bad57a5444 - "


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "2026-12-03", "--to", "2026-12-01"], "dcv: error: --from 2026-12-03 is after --to 2026-12-01\n"),
    (["--day", "2026-12-01", "--from", "2026-12-01"], "dcv: error: give either --day or --from/--to, not both\n"),
    (["--day", "2999-01-01"], "dcv: error: 2999-01-01 is in the future (today is "),
])
def test_run_refuses_a_range_that_makes_no_sense_in_one_line(capsys, argv, message):
    code, err = run_cli(capsys, "run", *argv)
    assert code == 2 and err.startswith(message) and err.count("\n") == 1


@pytest.mark.parametrize("text", ["2026-02-30", "yesterday", "2026/12/01"])
def test_a_bad_date_is_an_argument_error(capsys, text):
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--day", text])
    assert exited.value.code == 2
    assert f"argument --day: {text!r} is not a day (YYYY-MM-DD)" in capsys.readouterr().err


def test_day_range():
    assert day_range(None, None, None, TODAY) == [TODAY]
    assert day_range(None, date(2026, 12, 5), None, TODAY) == [date(2026, 12, 5)]
    assert day_range(None, date(2026, 12, 5), TODAY, TODAY) == [date(2026, 12, 5), date(2026, 12, 6), TODAY]
    with pytest.raises(ValueError, match="at most 366"):
        day_range(None, date(2024, 1, 1), TODAY, TODAY)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DCV_HOME", str(tmp_path / "home"))
    for name in ("DCV_AWS_ROLE_NAME", "DCV_RULE_REPOS", "DCV_SNAPSHOT_URI"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_run_refuses_a_past_day_of_an_undated_export_before_starting_anything(capsys, home, monkeypatch):
    export = home / "export"
    (export / "organizations").mkdir(parents=True)
    monkeypatch.setenv("DCV_EXPORT_DIR", str(export))
    code, err = run_cli(capsys, "run", "--day", "2026-01-02")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"dcv: error: DCV_EXPORT_DIR {export} is not dated (no YYYY-MM-DD/ folders): it describes "
                          "today")
    assert not (home / "home" / "pgdata").exists()  # no database was started


def test_run_without_any_source_says_so(capsys, home, monkeypatch):
    monkeypatch.setenv("DCV_EXPORT_DIR", str(home / "absent"))
    code, err = run_cli(capsys, "run")
    assert code == 2
    assert err == (f"dcv: error: nothing to read: DCV_EXPORT_DIR {home / 'absent'} does not exist and "
                   "DCV_AWS_ROLE_NAME is not set (point DCV_EXPORT_DIR at an export, docs/export-layout.md)\n")


def test_summary_before_any_load_says_so(capsys, home, warehouse_url, monkeypatch):
    monkeypatch.setenv("DCV_DATABASE_URL", warehouse_url)
    code, err = run_cli(capsys, "summary")
    assert code == 2 and err.startswith("dcv: error: no day is loaded in ") and err.count("\n") == 1


def test_progress_echoes_steps_and_keeps_a_failure_in_one_line():
    said = []
    ticks = iter([0.0, 3.2, 4.0, 4.5])
    progress = Progress(said.append, clock=lambda: next(ticks))
    log = [
        RUN.format(level="DEBUG") + "123 - RUN_START - Started execution of run for \"__ASSET_JOB\".",
        RUN.format(level="DEBUG") + "123 - attack_bundles - STEP_START - Started execution of step \"attack_bundles\".",
        RUN.format(level="DEBUG") + "123 - attack_bundles - STEP_SUCCESS - Finished execution of step "
                                    "\"attack_bundles\" in 3.2s.",
        RUN.format(level="DEBUG") + "123 - detections - STEP_START - Started execution of step \"detections\".",
        RUN.format(level="ERROR") + "123 - detections - STEP_FAILURE - Execution of step \"detections\" failed.",
        "",
        "dagster._core.definitions.events.Failure: DCV_EXPORT_DIR /x is not dated: it describes today, not 2026-12-01",
        "",
        "Stack Trace:",
        '  File "/x/assets.py", line 5, in detections',
        "    raise dg.Failure(description=str(exc)) from None",
        RUN.format(level="ERROR") + "dbt_models - Dependencies for step dbt_models failed: ['detections']. "
                                    "Not executing.",
    ]
    for line in log:
        progress.feed(line + "\n")
    assert [s.split("] ", 1)[1] for s in said] == ["attack_bundles started", "attack_bundles done in 3s",
                                                   "detections started", "detections FAILED after 0s"]
    assert all(s.startswith("  [") for s in said)
    assert progress.failure_summary() == ("step detections failed: DCV_EXPORT_DIR /x is not dated: it describes "
                                          "today, not 2026-12-01 (1 later steps not run)")


def test_progress_names_the_innermost_exception_of_an_ordinary_error():
    progress = Progress(lambda _: None, clock=lambda: 0.0)
    for line in [RUN.format(level="ERROR") + "123 - dbt_models - STEP_FAILURE - Execution of step \"dbt_models\" failed.",
                 "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op:",
                 "KeyError: 'test.detection_coverage.accepted_values'"]:
        progress.feed(line)
    assert progress.failure_summary() == "step dbt_models failed: KeyError: 'test.detection_coverage.accepted_values'"


# The pieces of `dcv run` through a real `dagster asset materialize` subprocess, on the ingest assets only: the
# whole graph for a day (dbt included) takes minutes on two cores; tests/defs/test_daily_run.py builds it, and
# checks the summary names the day's accounts.
INGEST = ",".join(f"raw/{name}" for name in ("org_accounts", "detection_contents", "detection_presence",
                                             "detection_changes", "scans", "declared_mappings"))


@pytest.fixture
def run_env(home, warehouse_url, monkeypatch):
    """As `dcv run` builds it, on the module's warehouse (which also holds the Dagster instance's tables)."""
    from dagster_project import run
    from dagster_project.lib import settings
    from dagster_project.lib.warehouse import runtime

    monkeypatch.setenv("DCV_DATABASE_URL", warehouse_url)
    monkeypatch.delenv("DCV_DAGSTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("DCV_EXPORT_DIR", str(home / "exports"))
    monkeypatch.setenv("DCV_EXPORT_WORKERS", "1")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    def env() -> dict[str, str]:
        cfg = settings.load()
        _, child = runtime.prepare(cfg)
        return run.run_env(cfg, child)

    return env


def test_a_run_echoes_each_step_and_keeps_the_full_log(run_env, home, db):
    from dagster_project.lib import sample_org
    from dagster_project.lib.sources.days import utc_today
    from dagster_project.run import materialize_all

    today = utc_today()
    counts = sample_org.write_export(home / "exports" / today.isoformat(), accounts=2, detections_per_account=10,
                                     seed=5, day=today)
    said, log = [], home / "logs" / "run.log"
    materialize_all(run_env(), today.isoformat(), log, echo=said.append, select=INGEST)
    steps = [line.split("] ", 1)[1] for line in said]
    assert {"raw__org_accounts started", "detections started"} <= set(steps)
    assert any(s.startswith("detections done in ") for s in steps)
    assert "STEP_SUCCESS" in log.read_text()
    scanned = db.execute("select count(*), sum(detections_seen) from raw.scans where partition_date = %s",
                         (today,)).fetchone()
    assert scanned == (2, counts["detections"])


def test_a_refused_day_fails_the_run_with_its_one_line(run_env, home, db):
    from dagster_project.lib import sample_org
    from dagster_project.lib.sources.days import utc_today
    from dagster_project.run import RunFailed, materialize_all

    sample_org.write_export(home / "exports", accounts=2, detections_per_account=10, seed=5)  # undated
    past = utc_today() - timedelta(days=10)
    said, log = [], home / "logs" / "refused.log"
    with pytest.raises(RunFailed) as failed:
        materialize_all(run_env(), past.isoformat(), log, echo=said.append, select=INGEST)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(f"the Dagster run for {past} failed: step ")
    assert (f"failed: DCV_EXPORT_DIR {home / 'exports'} is not dated (no YYYY-MM-DD/ folders): it describes "
            f"today, {utc_today()} (UTC), not {past};") in message
    assert message.endswith(f"(full log: {log})")
    assert any("FAILED after" in line for line in said)
    assert db.execute("select count(*) from raw.scans where partition_date = %s", (past,)).fetchone()[0] == 0
