"""Ingest assets for the organization and its detections: verbatim into raw, one daily partition at a time."""


from datetime import UTC, date, datetime

import dagster as dg

from dagster_project.defs.partitions import daily_partitions
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.sources.accounts import organization_id_from_arn, read_accounts_export
from dagster_project.lib.warehouse import loader

ORG_ACCOUNT_COLUMNS = ["partition_date", "provider", "account_id", "account_name", "organization_id", "status",
                       "source", "collected_at", "payload"]


@dg.asset(
    key=["raw", "org_accounts"],
    group_name="detections",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "postgres"},
    description="The organization's accounts per scan day, verbatim from the export directory's "
    "organizations/list-accounts.json (aws organizations list-accounts).",
)
def org_accounts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    export_dir = settings.load().export_dir
    accounts, rejects = read_accounts_export(export_dir)
    collected_at = datetime.now(UTC)
    days = [date.fromisoformat(k) for k in context.partition_keys]
    with warehouse.connect() as conn:
        for day in days:
            rows = (
                (day, "aws", a["Id"], a.get("Name"), organization_id_from_arn(a.get("Arn")), a.get("Status"),
                 f"export:{export_dir}", collected_at, a)
                for a in accounts
            )
            loader.replace_rows(conn, "raw.org_accounts", {"partition_date": day}, ORG_ACCOUNT_COLUMNS, rows)
            loader.quarantine(conn, "org_accounts", day, [(r.object_ref, r.reason, r.payload) for r in rejects])
    for reject in rejects:
        context.log.warning(f"quarantined {reject.object_ref}: {reject.reason}")
    return dg.MaterializeResult(
        metadata={"accounts": len(accounts), "rejected": len(rejects), "days": len(days),
                  "export_dir": str(export_dir)}
    )
