"""Bring the warehouse up for a command: target resolved, migrations applied, environment for children.

Used by the `dcv` CLI (Makefile targets) and by the Dagster resources, so both see the same database.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.warehouse import connection, migrate

DAGSTER_YAML = """\
# Written by `dcv`; the URL comes from the environment so no password is ever stored here.
storage:
  postgres:
    postgres_url:
      env: DCV_DAGSTER_STORAGE_URL
# One writer at a time (docs/decisions.md): runs from the UI, the schedule and backfills wait in the run queue
# for its one slot; `dagster asset materialize` and in-process runs, which skip the queue, take the warehouse's
# writer lock instead (lib/warehouse/writer_lock.py).
concurrency:
  runs:
    max_concurrent_runs: 1
# A run whose process died (killed, machine restarted) is marked failed instead of holding the run slot for ever:
# `dagster dev`'s code server fails a run whose worker exits; the daemon fails runs stuck starting or canceling,
# and any run still going after max_runtime_seconds (a full build at 1M detections takes ~5 min).
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  cancel_timeout_seconds: 300
  max_runtime_seconds: 14400
  poll_interval_seconds: 60
telemetry:
  enabled: false
"""


@functools.cache
def ready(url: str) -> str:
    """Apply migrations once per process per URL (Alembic is idempotent; this saves the round trips)."""
    connection.connect(url).close()  # a clear one-line error before Alembic's long one
    migrate.upgrade(url)
    return url


def write_dagster_yaml(dagster_home: Path) -> Path:
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    if not path.exists() or path.read_text() != DAGSTER_YAML:
        path.write_text(DAGSTER_YAML)
    return path


def child_env(target: connection.Target, cfg: settings_mod.Settings) -> dict[str, str]:
    """Variables a child process (dbt, dagster, psql) needs to reach the same databases."""
    env = connection.client_env(target.url)
    env["DCV_WAREHOUSE_URL"] = target.url
    env["DCV_DAGSTER_STORAGE_URL"] = connection.sqlalchemy_url(target.dagster_url)
    env["DAGSTER_HOME"] = str(cfg.dagster_home)
    env["DCV_HOME"] = str(cfg.home)
    return env


def prepare(cfg: settings_mod.Settings | None = None) -> tuple[connection.Target, dict[str, str]]:
    cfg = cfg or settings_mod.load()
    cfg.home.mkdir(parents=True, exist_ok=True)
    target = connection.resolve(cfg)
    ready(target.url)
    write_dagster_yaml(cfg.dagster_home)
    return target, child_env(target, cfg)


def warehouse_url() -> str:
    """The warehouse URL for code running inside Dagster or tests: set by `dcv`, else resolved here."""
    url = os.environ.get("DCV_WAREHOUSE_URL")
    if url:
        return ready(url)
    target, _ = prepare()
    return target.url
