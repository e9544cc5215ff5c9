"""dbt models as Dagster assets: daily-partitioned incrementals in one definition, everything else in another.

Backfills of the partitioned set run as one dbt invocation over the whole range (BackfillPolicy.single_run).
"""


import json
import os
import shutil
from pathlib import Path
from unittest import mock

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.detections import assets as ingest
from dagster_project.defs.partitions import daily_partitions, dbt_window_env
from dagster_project.defs.resources import WarehouseResource, dbt_project
from dagster_project.defs.transform.translator import ProjectTranslator

PARTITIONED = "tag:partitioned"
PARTIAL_PARSE = "partial_parse.msgpack"
# the ingest tables loaded per scan day: a partitioned model depends on those it reads (translator.py says why)
daily_sources = frozenset(
    key for definition in vars(ingest).values()
    if isinstance(definition, dg.AssetsDefinition) and definition.partitions_def == daily_partitions
    for key in definition.keys
)
translator = ProjectTranslator(daily_sources)

# Human-owned tables dbt reads (schema app): shown in their own group, never materialized by anything here.
app_state = [
    dg.AssetSpec(translator.get_asset_key(source), group_name="app_state", kinds={"postgres"},
                 description=source.get("description") or None)
    for source in json.loads(dbt_project.manifest_path.read_text())["sources"].values()
    if source["source_name"] == "app"
]


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    warehouse.export_client_env()
    # a test runs only when all the models it reads are built: the partitioned and unpartitioned halves run
    # as separate steps, and a relationship test between them must wait for the later one
    os.environ.setdefault("DBT_INDIRECT_SELECTION", "cautious")
    # dagster-dbt hands dbt this process's environment when it starts it: the window is set for that moment
    # only, so it cannot leak into a later step or build in the same process
    with mock.patch.dict(os.environ, dbt_window_env(context)):
        # dbt unit tests prove the models' logic on mocked rows: CI runs them (make test), a scan day need not
        invocation = dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context)
    yield from invocation.stream()
    _keep_parse(context, invocation.target_path)


def _keep_parse(context: dg.AssetExecutionContext, run_target: Path) -> None:
    """Leave this build's parse where the next build starts from. dagster-dbt copies the project target's
    partial_parse.msgpack into each build's own target; `make`'s parse has no warehouse in its profile, so
    without this every build would parse the whole project again (~3 s)."""
    kept = dbt_project.project_dir / dbt_project.target_path / PARTIAL_PARSE
    temporary = kept.with_name(f".{PARTIAL_PARSE}.{os.getpid()}")
    try:
        shutil.copyfile(run_target / PARTIAL_PARSE, temporary)
        os.replace(temporary, kept)  # atomic: a concurrent build reads the old parse or this one
    except OSError as exc:  # e.g. a read-only project directory: builds still work, parsing in full
        temporary.unlink(missing_ok=True)
        context.log.warning(f"dbt's parse not kept for the next build: {exc}")


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    exclude=PARTITIONED,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    yield from _build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    select=PARTITIONED,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="dbt_partitioned_models",
)
def dbt_partitioned_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    yield from _build(context, dbt, warehouse)
