"""Fixtures every test module may use.

- `pg_server_url`: a PostgreSQL for the session — DCV_DATABASE_URL's server, or an embedded one started
  here in a temporary directory outside pytest's own (stopped and removed at the end).
- `warehouse_url`: a fresh, migrated database per test module; DCV_WAREHOUSE_URL and PG* point at it, so
  Dagster resources and dbt use it. `second_warehouse`: another, per test, that they do not point at.
- `moto_endpoint`: moto's ThreadedMotoServer on a free port: real boto3 over HTTP.
- `dbt_manifest`: `dbt parse` run once per session.
- `shared_dir`: ../shared (DCV_SHARED), skipping with a clear reason where it is absent.
- `dagster_instance`: a Dagster instance whose storage is PostgreSQL (per module).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from dagster_project.lib import settings
from dagster_project.lib.warehouse import connection, embedded, migrate
from dagster_project.lib.warehouse.scratch import seeded_target

TEMPLATE_DB = "dcv_test_template"
# the partitions would otherwise start at the earliest day of whatever export the first importer pointed at
os.environ.setdefault("DCV_PARTITION_START", "2026-01-01")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _with_db(url: str, name: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    params["dbname"] = name
    return conninfo.make_conninfo(**params)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """Admin URL (database `postgres`) of the server the tests use, with a migrated template database."""
    external = settings.external_url_from_env(os.environ)
    if external:
        admin = _with_db(external, os.environ.get("DCV_TEST_ADMIN_DB", "postgres"))
        server = None
    else:
        # outside pytest's own temp root: as root, a second pytest session resets that root to 0700, which
        # would lock this server's system user out of its data directory mid-run
        home = Path(tempfile.mkdtemp(prefix="dcv-test-pg-"))
        server = embedded.start(home / "data", _free_port())
        admin = server.url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(TEMPLATE_DB)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(TEMPLATE_DB)))
    migrate.upgrade(_with_db(admin, TEMPLATE_DB))
    yield admin
    if server is not None:
        embedded.stop(server.pgdata)
        shutil.rmtree(home, ignore_errors=True)


def create_database(admin_url: str, prefix: str = "t", template: str | None = TEMPLATE_DB) -> str:
    """A fresh database (by default cloned from the migrated template); returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    query = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        query += sql.SQL(" template {}").format(sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(query)
    return _with_db(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def warehouse_url(pg_server_url):
    url = create_database(pg_server_url)
    saved = {k: os.environ.get(k) for k in ("DCV_WAREHOUSE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD",
                                            "PGDATABASE")}
    os.environ["DCV_WAREHOUSE_URL"] = url
    os.environ.update(connection.client_env(url))
    yield url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    drop_database(pg_server_url, url)


@pytest.fixture
def second_warehouse(pg_server_url):
    """Another fresh, migrated database, which the PG* environment does not point at."""
    url = create_database(pg_server_url)
    yield url
    drop_database(pg_server_url, url)


@pytest.fixture
def db(warehouse_url):
    """A connection to the module's warehouse (autocommit), for arranging and asserting."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def dagster_instance(pg_server_url, tmp_path_factory):
    import dagster as dg

    url = create_database(pg_server_url, prefix="dagster", template=None)
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url: " + repr(connection.sqlalchemy_url(url)) + "\n"
        "telemetry:\n  enabled: false\n"
    )
    instance = dg.DagsterInstance.from_config(str(home))
    yield instance
    instance.dispose()
    drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """`dbt parse` once per session (the manifest is built, never committed).

    Each xdist worker parses into its own directory and renames the manifest into place: parsing straight into
    target/ let one worker read the manifest while the other was half-way through writing it."""
    target = settings.DBT_PROJECT_DIR / "target"
    scratch = seeded_target(target / f"parse-{os.getpid()}")
    subprocess.run([str(Path(sys.executable).parent / "dbt"), "parse", "--quiet", "--project-dir",
                    str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
                    "--target-path", str(scratch)], check=True)
    manifest = target / "manifest.json"
    os.replace(scratch / "manifest.json", manifest)  # atomic: a reader sees the old file or the new, never half
    shutil.rmtree(scratch)
    return manifest


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server on a free port; boto3 talks real HTTP to it. Fake credentials, never real ones."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                            "AWS_DEFAULT_REGION", "AWS_PROFILE")}
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def moto_reset(moto_endpoint):
    """Empty moto's state before a test that needs a clean account."""
    import requests

    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    return moto_endpoint


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = settings.load().shared_dir
    if not path.is_dir():
        pytest.skip(f"third-party data not found at {path}: set DCV_SHARED to the shared/ folder")
    return path
