"""Resources: the warehouse (PostgreSQL), dbt and S3 (snapshots). Nothing connects at import time."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
from dagster_aws.s3 import S3Resource
from dagster_dbt import DbtCliResource, DbtProject
from psycopg import sql
from pydantic import PrivateAttr

from dagster_project.lib import settings
from dagster_project.lib.warehouse import connection, runtime, writer_lock

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse in use (embedded unless DCV_DATABASE_URL); migrations applied before first use.

    While it lives (a whole in-process run, one step of a multiprocess run) it holds the warehouse's writer lock,
    so runs started outside the run queue write one at a time (lib/warehouse/writer_lock.py)."""

    _writer: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.run_id or "no run"
        self._writer = writer_lock.acquire(self.url(), f"dcv run {run}",
                                           wait=context.log.info if context.log else None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def url(self) -> str:
        return runtime.warehouse_url()

    @contextlib.contextmanager
    def connect(self, role: str | None = settings.INGEST_ROLE) -> Iterator[psycopg.Connection]:
        """A connection acting as `role` (least privilege); committed on success, rolled back on error."""
        try:
            with connection.connect(self.url()) as conn:
                if role:
                    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if not connection.server_gone(exc):
                raise
            # one line saying what happened and what to do, rather than the driver's stack trace
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise dg.Failure(description=connection.LOST_SERVER.format(detail=detail), allow_retries=False) from exc

    def export_client_env(self) -> None:
        """dbt reads PG* (profiles.yml): point them at this warehouse for child processes."""
        os.environ.update(connection.client_env(self.url()))


resources = {
    "warehouse": WarehouseResource(),
    "dbt": DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(settings.DBT_PROJECT_DIR),
        # the dbt beside this interpreter, whether or not the venv is on PATH
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    ),
    # scan snapshots when DCV_SNAPSHOT_URI=s3://...: nothing configured here, so boto3 takes the region,
    # endpoint (AWS_ENDPOINT_URL_S3) and credentials from its own environment and profiles when a client is made
    "s3": S3Resource(),
}
