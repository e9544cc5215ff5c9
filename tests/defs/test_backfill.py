"""A backfill over a date range through Dagster's own machinery, compared with the same days run one by one.

The backfill is launched with the GraphQL mutation the UI sends for "Materialize all" over a range
(`launchPartitionBackfill` with every asset and the range's partition names) and carried out by the backfill
daemon's own iteration (`execute_backfill_iteration`), its runs executed in this process by Dagster's
synchronous test launcher. Before the partitioned dbt models depended on the daily ingest tables directly, such
a backfill "succeeded" without the six history marts: the backfill's target reached partitioned assets only
through partitioned parents, and those marts sat behind unpartitioned models.

The day-by-day side runs the daily job once per day (what the schedule does) into a second database; the marts
must hold the same rows.
"""

import logging
from datetime import date

import psycopg
import pytest
from psycopg import conninfo, sql

from dagster_project.lib import sample_org
from dagster_project.lib import settings as settings_mod
from dagster_project.lib.attack import sources
from dagster_project.lib.warehouse import connection

DAYS = [date(2026, 11, 19), date(2026, 11, 20)]
PARTITIONED_MARTS = ["account_inventory_daily", "coverage_history", "coverage_org_daily", "coverage_scores",
                     "scan_snapshots", "snapshot_storage"]
# wall-clock columns: when a load or build ran, which differs between the two warehouses by construction
COMPARED = {
    "coverage_scores": [],
    "coverage_history": [],
    "scan_snapshots": ["scan_started_at", "scan_completed_at"],
    "coverage_gaps": [],
}
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
  }
}
"""


def _database(admin_url: str, name: str, template: str | None) -> str:
    query = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        query += sql.SQL(" template {}").format(sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(query)
    params = conninfo.conninfo_to_dict(admin_url)
    params["dbname"] = name
    return conninfo.make_conninfo(**params)


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """One dated export per day (<dir>/<YYYY-MM-DD>/), each day's organization drifting from the previous."""
    root = tmp_path_factory.mktemp("exports")
    for day in DAYS:
        sample_org.write_export(root / day.isoformat(), accounts=2, detections_per_account=20, seed=3, day=day)
    return root


@pytest.fixture(scope="module")
def environment(shared_dir, dbt_manifest, exports, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DCV_EXPORT_DIR", str(exports))
        env.setenv("DCV_ATTACK_SOURCE", ",".join(sources.local_attack_sources(settings_mod.load())))
        yield env


def _point_at(env: pytest.MonkeyPatch, url: str, home) -> None:
    env.setenv("DCV_WAREHOUSE_URL", url)
    env.setenv("DCV_HOME", str(home))
    for key, value in connection.client_env(url).items():
        env.setenv(key, value)


@pytest.fixture(scope="module")
def day_by_day(environment, pg_server_url, dagster_instance, tmp_path_factory):
    """The daily job once per day, in order, into its own warehouse."""
    from dagster_project.definitions import defs

    url = _database(pg_server_url, "dcv_day_by_day", "dcv_test_template")
    with pytest.MonkeyPatch.context() as env:
        _point_at(env, url, tmp_path_factory.mktemp("home_day_by_day"))
        job = defs.resolve_job_def("daily_scan")
        for day in DAYS:
            assert job.execute_in_process(partition_key=day.isoformat(), instance=dagster_instance,
                                          run_config=IN_PROCESS).success
    yield url
    _drop(pg_server_url, "dcv_day_by_day")


@pytest.fixture(scope="module")
def backfill_instance(pg_server_url, tmp_path_factory):
    """A Dagster instance on PostgreSQL whose runs execute synchronously in this process when submitted."""
    import dagster as dg

    url = _database(pg_server_url, "dcv_backfill_dagster", None)
    home = tmp_path_factory.mktemp("dagster_home_backfill")
    (home / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url: " + repr(connection.sqlalchemy_url(url)) + "\n"
        "run_launcher:\n  module: dagster._core.launcher.sync_in_memory_run_launcher\n"
        "  class: SyncInMemoryRunLauncher\n"
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    instance = dg.DagsterInstance.from_config(str(home))
    yield instance
    instance.dispose()
    _drop(pg_server_url, "dcv_backfill_dagster")


@pytest.fixture(scope="module")
def backfill(environment, warehouse_url, backfill_instance, day_by_day, tmp_path_factory):
    """Launch the range as the UI does, then let the daemon's backfill iteration run it to the end."""
    from dagster._core.execution.backfill import BulkActionStatus
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._daemon.backfill import execute_backfill_iteration
    from dagster_graphql.test.utils import execute_dagster_graphql

    instance = backfill_instance
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="dagster_project.definitions", attribute="defs",
                             working_directory=str(settings_mod.PROJECT_ROOT)),
        location_name="dagster_project",
    )
    with pytest.MonkeyPatch.context() as env:
        _point_at(env, warehouse_url, tmp_path_factory.mktemp("home_backfill"))
        with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace:
            graph = workspace.create_request_context().asset_graph
            keys = [{"path": key.path} for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
            launched = execute_dagster_graphql(workspace.create_request_context(), LAUNCH, variables={"params": {
                "assetSelection": keys, "partitionNames": [d.isoformat() for d in DAYS],
                "runConfigData": IN_PROCESS, "title": "test range"}})
            result = launched.data["launchPartitionBackfill"]
            assert result["__typename"] == "LaunchBackfillSuccess", result
            backfill_id = result["backfillId"]
            for _ in range(30):  # the daemon's loop, without its sleep; each iteration runs what became ready
                list(execute_backfill_iteration(workspace, logging.getLogger("backfill")))
                status = instance.get_backfill(backfill_id).status
                if status not in (BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING):
                    break
            data = instance.get_backfill(backfill_id).asset_backfill_data
            runs = instance.get_runs()
    return status, data, runs, graph


def test_the_backfill_completes_and_targets_every_partitioned_mart_for_the_range(backfill):
    from dagster._core.execution.backfill import BulkActionStatus

    status, data, runs, graph = backfill
    assert status == BulkActionStatus.COMPLETED_SUCCESS, [(r.run_id, r.status) for r in runs]
    assert all(run.is_success for run in runs)
    targeted = {key.path[-1]: data.target_subset.get_partitions_subset(key).get_partition_keys()
                for key in data.target_subset.partitions_subsets_by_asset_key}
    for mart in PARTITIONED_MARTS:
        assert sorted(targeted.get(mart, [])) == [d.isoformat() for d in DAYS], mart
    assert data.materialized_subset == data.target_subset


def test_each_partitioned_range_is_one_run(backfill):
    """Dagster puts assets with different partitionings in different runs of an asset backfill; what it can
    group, it does: the ingest of the whole range is one run, the history marts of the whole range another."""
    _, _, runs, _ = backfill
    ranged = [r for r in runs if r.tags.get("dagster/asset_partition_range_start")]
    assert ranged and all(r.tags["dagster/asset_partition_range_start"] == DAYS[0].isoformat()
                          and r.tags["dagster/asset_partition_range_end"] == DAYS[-1].isoformat() for r in ranged)
    assert not [r for r in runs if r.tags.get("dagster/partition")]  # no run for a single day


def _rows(url: str, table: str, skip: list[str]) -> list[str]:
    with psycopg.connect(url) as conn:
        query = sql.SQL("select (to_jsonb(t) - {skip}::text[])::text from marts.{table} as t order by 1").format(
            skip=sql.Literal(skip), table=sql.Identifier(table))
        return [row[0] for row in conn.execute(query)]


@pytest.mark.parametrize("mart", sorted(COMPARED))
def test_the_marts_equal_a_day_by_day_run(backfill, warehouse_url, day_by_day, mart):
    backfilled = _rows(warehouse_url, mart, COMPARED[mart])
    daily = _rows(day_by_day, mart, COMPARED[mart])
    assert backfilled, f"marts.{mart} is empty after the backfill"
    assert backfilled == daily


def test_every_day_of_the_range_is_in_the_history(backfill, db):
    days = {row[0] for row in db.execute("select distinct scan_day from marts.scan_snapshots")}
    history = {row[0] for row in db.execute("select distinct timestamp::date from marts.coverage_history")}
    assert days == history == set(DAYS)
