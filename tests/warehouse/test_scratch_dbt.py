"""scratch.dbt runs dbt in this process (the tests and `make eval` call it dozens of times): each command must
reach the database it is given, not the one the environment points at, and a failure must say dbt's reason."""

import os

import pytest

from dagster_project.lib.warehouse import connection, scratch


def _has_view(url: str) -> bool:
    with connection.connect(url) as conn:
        return conn.execute("select to_regclass('staging.stg_attack__bundles') is not null").fetchone()[0]


def test_a_command_reaches_the_database_it_is_given_and_leaves_the_environment_as_it_was(
        warehouse_url, second_warehouse, dbt_manifest):
    environment = dict(os.environ)  # PG* name the module's warehouse (conftest)
    scratch.dbt(second_warehouse, "run", "--quiet", "--select", "stg_attack__bundles")
    assert dict(os.environ) == environment
    assert _has_view(second_warehouse) and not _has_view(warehouse_url)


def test_a_failed_command_raises_with_dbts_reason(second_warehouse, dbt_manifest):
    with pytest.raises(RuntimeError, match=r'relation "staging\.stg_attack__\w+" does not exist'):
        scratch.dbt(second_warehouse, "run", "--quiet", "--select", "mitre_versions")  # its staging never built
