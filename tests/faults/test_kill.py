"""kill -9 of a run during the raw load and during dbt, and of the PostgreSQL server: after each, a re-run gives
exactly what a clean run gives, and nothing half-written is ever visible.

Deterministic: the test holds a table lock the run needs at the moment of interest (the day's insert into
raw.detection_contents, inside the load's one transaction; the incremental merge into marts.detections, inside
dbt), waits until PostgreSQL shows the run waiting on it, and kills then. The runs are real `dagster asset
materialize` processes (as `dcv run` starts them) over the ingest assets and every dbt model `marts.detections`
is built from, on a PostgreSQL server of this module's own (so killing it harms no other test).

One chain of runs keeps this affordable: day 1 loaded, the database cloned into a clean twin (which loads day 2
undisturbed), then on the other: the run of day 2 killed in the raw load, the server killed in the raw load, the
re-run killed in dbt, the last re-run; each stage's state compared with the clean twin's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from dagster_project.lib import sample_org, settings
from dagster_project.lib.warehouse import connection, embedded, migrate

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
IN_PROCESS = "execution:\n  config:\n    in_process: {}\n"
RAW = ("raw.detection_presence", "raw.detection_contents", "raw.detection_changes", "raw.scans", "raw.quarantine",
       "raw.declared_mappings")
# what differs between two correct runs: when they ran
VOLATILE = {"started_at", "completed_at", "collected_at", "quarantined_at", "loaded_at", "id"}
# marts.accounts dates an account by when its listing was collected (collected_at)
VOLATILE_IN = {"marts.accounts": {"created_at", "updated_at"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fingerprint(url: str, tables) -> dict[str, tuple[int, str]]:
    """Per table: row count and an md5 over its rows (columns sorted by name, volatile ones left out)."""
    out = {}
    with psycopg.connect(url) as conn:
        for table in tables:
            schema, name = table.split(".")
            columns = [c for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by column_name", (schema, name)) if c not in VOLATILE | VOLATILE_IN.get(table, set())]
            row = sql.SQL("concat_ws('|', {})").format(sql.SQL(", ").join(
                sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns))
            query = sql.SQL("select count(*), md5(coalesce(string_agg(r, E'\\n' order by r), '')) "
                            "from (select {} as r from {}) as t").format(row, sql.Identifier(schema, name))
            out[table] = tuple(conn.execute(query).fetchone())
    return out


class Chain:
    """The module's server, databases, environment and the runs over them."""

    def __init__(self, home: Path, keys: list[str]):
        self.home, self.keys = home, keys
        self.pgdata = Path(tempfile.mkdtemp(prefix="dcv-kill-pg-")) / "data"
        self.port = _free_port()
        self.server = embedded.start(self.pgdata, self.port)
        (home / "dagster").mkdir(exist_ok=True)

    def url(self, database: str) -> str:
        return embedded.RunningServer(self.pgdata, self.port, 0).url(database)

    def env(self, database: str) -> dict[str, str]:
        url = self.url(database)
        return {**os.environ, **connection.client_env(url), "DCV_WAREHOUSE_URL": url, "DCV_HOME": str(self.home),
                "DCV_EXPORT_DIR": str(self.home / "exports"), "DCV_EXPORT_WORKERS": "1",
                "DAGSTER_HOME": str(self.home / "dagster"), "PYTHONUNBUFFERED": "1"}

    def start_run(self, database: str, day: date) -> subprocess.Popen:
        config = self.home / "in_process.yaml"
        config.write_text(IN_PROCESS)
        command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                   "dagster_project.definitions", "--select", ",".join(self.keys), "--partition", day.isoformat(),
                   "-c", str(config)]
        log = (self.home / f"run-{database}-{time.monotonic_ns()}.log").open("w")
        return subprocess.Popen(command, env=self.env(database), cwd=settings.PROJECT_ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, text=True)

    def run(self, database: str, day: date) -> None:
        proc = self.start_run(database, day)
        assert proc.wait(timeout=900) == 0, self.last_log()

    def last_log(self) -> str:
        logs = sorted(self.home.glob("run-*.log"), key=lambda p: p.stat().st_mtime)
        return logs[-1].read_text() if logs else ""

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)


def wait_for_lock_wait(chain: Chain, database: str, like: str, proc: subprocess.Popen, timeout: float = 600) -> int:
    """The pid of the backend the run has blocked on our lock, once PostgreSQL shows it waiting."""
    deadline = time.monotonic() + timeout
    with chain.admin() as admin:
        while time.monotonic() < deadline:
            row = admin.execute("select pid from pg_stat_activity where datname = %s and wait_event_type = 'Lock' "
                                "and query ilike %s", (database, like)).fetchone()
            if row:
                return row[0]
            assert proc.poll() is None, f"the run ended before reaching the lock:\n{chain.last_log()}"
            time.sleep(0.2)
    raise AssertionError(f"the run never waited on {like}:\n{chain.last_log()}")


def kill_run(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the dagster process and the dbt process it started
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("processes of the killed run are still alive")


def kill_run_waiting_on(chain: Chain, lock_sql: str, like: str) -> None:
    """Day 2's run, kill -9'd once it waits on the lock `lock_sql` takes here; then the lock released and the
    run's backend gone (its transaction rolled back)."""
    lock = psycopg.connect(chain.url("fault"))
    lock.execute(lock_sql)
    proc = chain.start_run("fault", D2)
    backend = wait_for_lock_wait(chain, "fault", like, proc)
    kill_run(proc)
    lock.rollback()
    wait_gone(chain, backend)
    lock.close()


def wait_gone(chain: Chain, pid: int) -> None:
    """The killed run's backend ends (rolling its transaction back) once it finds its client gone."""
    with chain.admin() as admin:
        for _ in range(300):
            if not admin.execute("select 1 from pg_stat_activity where pid = %s", (pid,)).fetchone():
                return
            time.sleep(0.1)
    raise AssertionError(f"backend {pid} of the killed run is still there")


@pytest.fixture(scope="module")
def chain(tmp_path_factory, dbt_manifest):
    from dagster_project.definitions import defs

    home = tmp_path_factory.mktemp("kill_home")
    for day in (D1, D2):
        sample_org.write_export(home / "exports" / day.isoformat(), accounts=2, detections_per_account=20, seed=5,
                                day=day)
    upstream = dg.AssetSelection.assets(["marts", "detections"]).upstream().resolve(defs.resolve_asset_graph())
    # with every key of the ingest multi-asset (it cannot run a subset of its tables)
    keys = sorted({k.to_user_string() for key in upstream for k in (
        defs.resolve_assets_def(key).keys if not defs.resolve_assets_def(key).can_subset else [key])})
    saved = {k: os.environ.get(k) for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")}
    built = Chain(home, keys)
    try:
        with built.admin() as admin:
            admin.execute("create database base")
        migrate.upgrade(built.url("base"))
        yield built
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        embedded.stop(built.pgdata)
        shutil.rmtree(built.pgdata.parent, ignore_errors=True)


def test_kills_during_load_and_dbt_and_of_the_server_then_a_rerun_equals_a_clean_run(chain):
    marts = [f"marts.{k.split('/')[1]}" for k in chain.keys if k.startswith("marts/")]
    started = time.perf_counter()

    # day 1 everywhere; the clean twin loads day 2 undisturbed
    chain.run("base", D1)
    with chain.admin() as admin:
        for name in ("clean", "fault"):
            admin.execute(sql.SQL("create database {} template base").format(sql.Identifier(name)))
    before = fingerprint(chain.url("base"), RAW + tuple(marts))
    chain.run("clean", D2)
    clean = fingerprint(chain.url("clean"), RAW + tuple(marts) + ("raw.org_accounts",))
    assert clean != before, "day 2 must change something, or the comparison proves nothing"
    figures = {"clean runs (day 1, day 2)": time.perf_counter() - started}

    # 1. kill -9 of the run inside the load's transaction: nothing of day 2's detections is visible
    kill_run_waiting_on(chain, "lock table raw.detection_contents in exclusive mode",
                        "%insert into raw.detection_contents%")
    assert fingerprint(chain.url("fault"), RAW) == {t: before[t] for t in RAW}

    # 2. kill -9 of the PostgreSQL server (the postmaster) at the same point
    lock = psycopg.connect(chain.url("fault"))
    lock.execute("lock table raw.detection_contents in exclusive mode")
    proc = chain.start_run("fault", D2)
    wait_for_lock_wait(chain, "fault", "%insert into raw.detection_contents%", proc)
    os.kill(chain.server.pid, signal.SIGKILL)
    assert proc.wait(timeout=300) != 0
    log = chain.last_log()
    assert "the PostgreSQL server went away during this step" in log and "Re-run the day" in log
    lock.close()
    for _ in range(100):  # its backends notice the postmaster is gone and exit
        restarted = None
        try:
            restarted = embedded.start(chain.pgdata, chain.port)
            break
        except embedded.EmbeddedServerError:
            time.sleep(0.2)
    assert restarted is not None and restarted.recovered and "crash recovery" in restarted.recovered
    chain.server = restarted
    assert fingerprint(chain.url("fault"), RAW) == {t: before[t] for t in RAW}

    # 3. the re-run, killed -9 inside dbt (the incremental merge into marts.detections): its load is the clean one
    kill_run_waiting_on(chain, "lock table marts.detections in access exclusive mode", "%detections%")
    assert fingerprint(chain.url("fault"), RAW) == {t: clean[t] for t in RAW}
    assert fingerprint(chain.url("fault"), ["marts.detections"]) == {"marts.detections": before["marts.detections"]}

    # 4. the last re-run equals the clean run, raw and marts
    chain.run("fault", D2)
    assert fingerprint(chain.url("fault"), RAW + tuple(marts) + ("raw.org_accounts",)) == clean
    figures["whole chain"] = time.perf_counter() - started
    print(f"kill chain: {figures}")
