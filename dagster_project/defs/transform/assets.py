"""dbt models as Dagster assets: daily-partitioned incrementals in one definition, everything else in another.

Backfills of the partitioned set run as one dbt invocation over the whole range (BackfillPolicy.single_run).
"""


import json
import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.partitions import daily_partitions, dbt_vars_for
from dagster_project.defs.resources import WarehouseResource, dbt_project
from dagster_project.defs.transform.translator import ProjectTranslator

PARTITIONED = "tag:partitioned"
translator = ProjectTranslator()

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
    # dbt unit tests prove the models' logic on mocked rows: CI runs them (make test), a scan day need not
    args = ["build", "--exclude-resource-type", "unit_test"]
    dbt_vars = dbt_vars_for(context)
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    yield from dbt.cli(args, context=context).stream()


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
