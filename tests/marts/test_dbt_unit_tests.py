"""The project's dbt unit tests (e.g. models/marts/coverage/_coverage_unit_tests.yml, which pin
docs/coverage-semantics.md) run as part of `make test`, against a fresh warehouse.

dbt mocks every input of a unit test, but it reads the column types of `format: dict` inputs from their
relations, so the unit tests' parents are built first (on a fresh warehouse they are empty); then
`dbt test --select test_type:unit` runs them all, and run_results.json says how each went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.lib import settings
from dagster_project.lib.warehouse import connection, scratch


def _dbt_unit_tests(url: str, target: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit",
               "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
               "--target-path", str(target), "--log-path", str(target / "logs"), "--no-use-colors"]
    return subprocess.run(command, env={**os.environ, **connection.client_env(url)}, capture_output=True, text=True,
                          check=False)


@pytest.fixture(scope="module")
def unit_test_run(warehouse_url, tmp_path_factory):
    """(dbt's exit code and output, the unit tests' entries of run_results.json)."""
    target = tmp_path_factory.mktemp("dbt_target")
    # a target directory of its own: this module never races another's dbt over dbt_project/target
    paths = ("--target-path", str(target), "--log-path", str(target / "logs"))
    scratch.dbt(warehouse_url, "build", "--quiet", "--select", "+test_type:unit",
                "--exclude-resource-type", "test", "unit_test", *paths)
    done = _dbt_unit_tests(warehouse_url, target)
    if not (target / "run_results.json").exists():  # dbt stopped before running anything (e.g. a YAML error)
        pytest.fail(f"dbt test --select test_type:unit did not run:\n{done.stdout[-4000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    return done, [r for r in results if r["unique_id"].startswith("unit_test.")]


def test_the_coverage_semantics_have_unit_tests(unit_test_run):
    _, results = unit_test_run
    tested = {r["unique_id"].split(".")[2] for r in results}  # unit_test.<project>.<model>.<test>
    assert {"int_techniques_scoped", "int_account_techniques_covered", "coverage_scores", "coverage_gaps",
            "coverage_overlaps"} <= tested


def test_every_dbt_unit_test_passes(unit_test_run):
    done, results = unit_test_run
    failed = [f"{r['unique_id']} ({r['status']}): {r['message']}" for r in results if r["status"] != "pass"]
    assert results, done.stdout[-4000:]
    assert not failed, "\n".join(failed)
    assert done.returncode == 0, done.stdout[-4000:]
