"""dbt models as Dagster assets: daily-partitioned incrementals in one definition, everything else in another.

Backfills of the partitioned set run as one dbt invocation over the whole range (BackfillPolicy.single_run).
"""


import json
import os
import shutil
from pathlib import Path
from unittest import mock

import dagster as dg
import psycopg
from dagster_dbt import DbtCliResource, dbt_assets
from psycopg import sql

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

_sources = json.loads(dbt_project.manifest_path.read_text())["sources"].values()
# Human-owned tables dbt reads (schema app): shown in their own group, never materialized by anything here.
app_state = [
    dg.AssetSpec(translator.get_asset_key(source), group_name="app_state", kinds={"postgres"},
                 description=source.get("description") or None, owners=["team:detection-engineering"])
    for source in _sources if source["source_name"] == "app"
]
# Raw tables that dbt's own hooks keep (bookkeeping such as the change log's pruning mark), declared so they show
# beside the ingest tables rather than as stray external assets; the dbt source says `meta: {written_by: dbt}`.
dbt_bookkeeping = [
    dg.AssetSpec(translator.get_asset_key(source), group_name="detections", kinds={"postgres"},
                 description=source.get("description") or None, owners=["team:data-platform"])
    for source in _sources if (source.get("meta") or {}).get("written_by") == "dbt"
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
    yield from _with_table_facts(invocation.stream(), warehouse)
    _keep_parse(context, invocation.target_path)


def _with_table_facts(events, warehouse: WarehouseResource):
    """Each built table's row count and columns on its asset page, read from the catalog by its asset key
    (<schema>/<table>). dagster-dbt's fetch_row_counts/fetch_column_metadata name relations with the database
    the manifest was parsed against, which PostgreSQL refuses as a cross-database reference whenever the
    warehouse's database has another name (any external DCV_DATABASE_URL, every test database). Views are not
    counted: that would run them. Autocommit: a transaction left open would hold its read locks on the tables it
    counted while dbt goes on to replace them."""
    with psycopg.connect(warehouse.url(), autocommit=True) as conn:
        for event in events:
            # an Output's name is its asset key as an identifier: marts__coverage_gaps
            path = (event.asset_key.path if isinstance(event, dg.AssetMaterialization)
                    else event.output_name.split("__") if isinstance(event, dg.Output) else None)
            facts = _table_facts(conn, path) if path else {}
            if facts:
                event = event.with_metadata({**event.metadata, **facts})
            yield event


def _table_facts(conn, path: list[str]) -> dict:
    if len(path) != 2:
        return {}
    kind = conn.execute("select c.relkind from pg_class as c join pg_namespace as n on c.relnamespace = n.oid "
                        "where n.nspname = %s and c.relname = %s", path).fetchone()
    if not kind:
        return {}
    columns = conn.execute("select column_name, data_type from information_schema.columns "
                           "where table_schema = %s and table_name = %s order by ordinal_position", path).fetchall()
    facts = {"dagster/column_schema": dg.MetadataValue.table_schema(
        dg.TableSchema(columns=[dg.TableColumn(name, data_type) for name, data_type in columns]))}
    if kind[0] in ("r", "p", "m"):  # tables and materialized views; not plain views
        query = sql.SQL("select count(*) from {}.{}").format(sql.Identifier(path[0]), sql.Identifier(path[1]))
        facts["dagster/row_count"] = dg.MetadataValue.int(conn.execute(query).fetchone()[0])
    return facts


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
    project=dbt_project,  # code references: each asset links to its SQL file
    dagster_dbt_translator=translator,
    exclude=PARTITIONED,
    name="dbt_models",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    yield from _build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,  # code references: each asset links to its SQL file
    dagster_dbt_translator=translator,
    select=PARTITIONED,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="dbt_partitioned_models",
)
def dbt_partitioned_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    yield from _build(context, dbt, warehouse)
