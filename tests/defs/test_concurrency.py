"""One writer at a time: the Dagster instance `dcv` writes queues runs one at a time, and runs that skip the
queue hold the warehouse's writer lock, so two runs launched at once both succeed, one after the other.

Two `dagster asset materialize` processes (what `make demo` and `dcv run` start, outside the run queue) for two
days, started together: before, both failed in dbt ("relation ... already exists") and left snapshot_storage
rows without their scan. With only a one-slot concurrency pool on every asset their steps alternated, and a
dbt build that read the other run's half-processed day failed its relationship test.
"""

import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from psycopg import conninfo, sql

from dagster_project.lib import sample_org
from dagster_project.lib import settings as settings_mod
from dagster_project.lib.attack import sources
from dagster_project.lib.warehouse import connection, runtime, writer_lock

DAYS = [date(2026, 11, 19), date(2026, 11, 20)]
IN_PROCESS = "execution:\n  config:\n    in_process: {}\n"
TIMEOUT = 900


def test_the_instance_dcv_writes_serializes_runs_and_monitors_them(tmp_path):
    written = yaml.safe_load(runtime.write_dagster_yaml(tmp_path / "written").read_text())
    assert written["storage"]["postgres"]["postgres_url"] == {"env": "DCV_DAGSTER_STORAGE_URL"}
    # the same settings on an instance of its own (local storage, so nothing connects)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({k: v for k, v in written.items() if k != "storage"}))
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds > 0
    finally:
        instance.dispose()


def test_the_writer_lock_makes_a_second_writer_wait_and_names_the_first(warehouse_url):
    first = writer_lock.acquire(warehouse_url, "dcv run first")
    told, got = [], threading.Event()

    def second():
        writer_lock.acquire(warehouse_url, "dcv run second", wait=told.append, poll_seconds=0.05).close()
        got.set()

    waiter = threading.Thread(target=second)
    waiter.start()
    try:
        assert not got.wait(1.0)
        assert len(told) == 1 and "dcv run first" in told[0]
    finally:
        first.close()
    assert got.wait(10)
    waiter.join()


@pytest.fixture(scope="module")
def dagster_home(pg_server_url, tmp_path_factory):
    name = "dcv_concurrency_dagster"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    params = conninfo.conninfo_to_dict(pg_server_url)
    params["dbname"] = name
    home = tmp_path_factory.mktemp("dagster_home_concurrency")
    runtime.write_dagster_yaml(home)  # the project's own instance configuration
    yield home, connection.sqlalchemy_url(conninfo.make_conninfo(**params))
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def two_runs_at_once(shared_dir, dbt_manifest, warehouse_url, dagster_home, tmp_path_factory):
    home, storage_url = dagster_home
    dcv_home = tmp_path_factory.mktemp("dcv_home_concurrency")
    exports = dcv_home / "exports"
    for day in DAYS:
        sample_org.write_export(exports / day.isoformat(), accounts=2, detections_per_account=15, seed=5, day=day)
    config = dcv_home / "in_process.yaml"
    config.write_text(IN_PROCESS)
    env = {**connection.client_env(warehouse_url), "DCV_WAREHOUSE_URL": warehouse_url, "DAGSTER_HOME": str(home),
           "DCV_DAGSTER_STORAGE_URL": storage_url, "DCV_HOME": str(dcv_home), "DCV_EXPORT_DIR": str(exports),
           "DCV_ATTACK_SOURCE": ",".join(sources.local_attack_sources(settings_mod.load()))}
    env = {**os.environ, **env}
    env.pop("DCV_PARTITION_MIN_DATE", None)
    env.pop("DCV_PARTITION_MAX_DATE", None)
    dagster = str(Path(sys.executable).parent / "dagster")
    started = time.monotonic()
    processes = [
        subprocess.Popen([dagster, "asset", "materialize", "-m", "dagster_project.definitions", "--select", "*",
                          "--partition", day.isoformat(), "-c", str(config)],
                         env=env, cwd=settings_mod.PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
        for day in DAYS
    ]
    outputs = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=max(1, TIMEOUT - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            pytest.fail(f"two runs did not finish within {TIMEOUT} s")
        outputs.append((process.returncode, out))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DCV_DAGSTER_STORAGE_URL", storage_url)
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            runs = instance.get_runs()
            steps = {run.run_id: _step_spans(instance, run.run_id) for run in runs}
        finally:
            instance.dispose()
    return outputs, runs, steps


def _step_spans(instance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of each step of a run, from its event log."""
    starts, spans = {}, []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            spans.append((starts[event.step_key], record.timestamp, event.step_key))
    return spans


def test_both_runs_succeed(two_runs_at_once):
    outputs, runs, _ = two_runs_at_once
    for code, out in outputs:
        assert code == 0, out[-3000:]
    assert len(runs) == 2 and all(run.is_success for run in runs)


def test_one_run_wrote_after_the_other(two_runs_at_once):
    _, _, steps = two_runs_at_once
    a, b = sorted(steps.values(), key=lambda spans: min(start for start, _, _ in spans))
    assert a and b
    assert max(end for _, end, _ in a) <= min(start for start, _, _ in b)


def test_the_marts_are_consistent(two_runs_at_once, db):
    orphans = db.execute("""
        select count(*) from marts.snapshot_storage as s
        where not exists (select from marts.scan_snapshots as x where x.id = s.snapshot_id)
    """).fetchone()[0]
    days = {row[0] for row in db.execute("select distinct scan_day from marts.scan_snapshots")}
    history = {row[0] for row in db.execute("select distinct timestamp::date from marts.coverage_history")}
    assert orphans == 0
    assert days == history == set(DAYS)
