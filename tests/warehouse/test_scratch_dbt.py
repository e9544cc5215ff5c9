"""scratch.dbt runs dbt in this process (the tests and `make eval` call it dozens of times): each command must
reach the database it is given, not the one the environment points at, and a failure must say dbt's reason."""

import os
import uuid

import psycopg
import pytest
from psycopg import conninfo, sql

from dagster_project.lib.warehouse import connection, migrate, scratch


@pytest.fixture
def other_database(pg_server_url):
    """An empty database beside the module's warehouse (which the PG* environment points at)."""
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield conninfo.make_conninfo(pg_server_url, dbname=name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def _has_view(url: str) -> bool:
    with connection.connect(url) as conn:
        return conn.execute("select to_regclass('staging.stg_attack__bundles') is not null").fetchone()[0]


def test_a_command_reaches_the_database_it_is_given_and_leaves_the_environment_as_it_was(
        warehouse_url, other_database, dbt_manifest):
    migrate.upgrade(other_database)
    environment = dict(os.environ)
    scratch.dbt(other_database, "run", "--quiet", "--select", "stg_attack__bundles")
    assert dict(os.environ) == environment
    assert _has_view(other_database) and not _has_view(warehouse_url)


def test_a_failed_command_raises_with_dbts_reason(other_database, dbt_manifest):
    migrate.upgrade(other_database)
    with pytest.raises(RuntimeError, match=r'relation "staging\.stg_attack__\w+" does not exist'):
        scratch.dbt(other_database, "run", "--quiet", "--select", "mitre_versions")  # its staging never built
