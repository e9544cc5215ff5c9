"""Ingest assets for the organization and its detections: verbatim into raw, one daily partition at a time."""

from datetime import UTC, date, datetime

import dagster as dg
from dagster_aws.s3 import S3Resource

from dagster_project.defs.detections.collect import all_scans
from dagster_project.defs.partitions import daily_partitions
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.detections.snapshots import SnapshotWriter
from dagster_project.lib.detections.store import previous_scope_digests, previous_versions, store_partition
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
            loader.quarantine(conn, "org_accounts", day, [r.row() for r in rejects])
    for reject in rejects:
        context.log.warning(f"quarantined {reject.object_ref}: {reject.reason}")
    return dg.MaterializeResult(
        metadata={"accounts": len(accounts), "rejected": len(rejects), "days": len(days),
                  "export_dir": str(export_dir)}
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "detection_contents"], group_name="detections", kinds={"python", "postgres"},
                     description="Each distinct detection configuration (and runtime state) once, by hash."),
        dg.AssetSpec(["raw", "detection_presence"], group_name="detections", kinds={"python", "postgres"},
                     description="Scan-day intervals during which each detection had a given configuration."),
        dg.AssetSpec(["raw", "detection_changes"], group_name="detections", kinds={"python", "postgres"},
                     description="The detections whose intervals each load changed (a change log for dbt)."),
        dg.AssetSpec(["raw", "scans"], group_name="detections", kinds={"python", "postgres"},
                     description="One row per source, account and day: status, counts, errors, snapshot file."),
        dg.AssetSpec(["raw", "declared_mappings"], group_name="detections", kinds={"python", "postgres"},
                     description="ATT&CK techniques Sigma/Elastic rules declare about themselves."),
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def detections(context: dg.AssetExecutionContext, warehouse: WarehouseResource, s3: S3Resource):
    """Collect every configured source (export files, Sigma/Elastic repositories, live AWS) for the day.

    Live AWS fans out over accounts with a bounded thread pool (DCV_SCAN_WORKERS); one failing account, region
    or service is recorded on its scan (status partial/failed) and the rest carries on. Each scan's compressed
    snapshot goes to $DCV_HOME/snapshots, or through the `s3` resource to DCV_SNAPSHOT_URI=s3://bucket/prefix.
    """
    from dagster_project.lib.sources.rule_repos import declared_tags

    cfg = settings.load()
    snapshots = snapshot_writer(cfg, s3)
    context.log.info(f"snapshots to {cfg.snapshot_uri or cfg.snapshot_dir}")
    totals = {"accounts": 0, "detections": 0, "new_contents": 0, "opened": 0, "closed": 0, "rejected": 0,
              "scopes_unchanged": 0}
    for key in context.partition_keys:
        day = date.fromisoformat(key)
        rejects: list = []
        # a second connection reads each account's previous versions while the first streams the day's COPY
        with warehouse.connect() as conn, warehouse.connect() as reader:
            known = previous_scope_digests(conn, "export", day)
            scans = all_scans(cfg, day, rejects, context.log, known, keep_json=True,
                              export_versions=previous_versions(reader, "export", day))
            stats = store_partition(conn, day, scans, snapshots=snapshots, declared_tags=declared_tags)
            loader.quarantine(conn, "detections", day, rejects + stats.rejects)
        for ref, reason, _ in rejects + stats.rejects:
            context.log.warning(f"quarantined {ref}: {reason}")
        for name, value in (("accounts", stats.accounts), ("detections", stats.detections),
                            ("new_contents", stats.new_contents), ("opened", stats.intervals_opened),
                            ("closed", stats.intervals_closed), ("rejected", len(rejects) + len(stats.rejects)),
                            ("scopes_unchanged", stats.scopes_unchanged)):
            totals[name] += value
    context.log.info(f"stored {totals}")
    for key in (["raw", "detection_contents"], ["raw", "detection_presence"], ["raw", "detection_changes"],
                ["raw", "scans"], ["raw", "declared_mappings"]):
        yield dg.MaterializeResult(asset_key=key, metadata=totals)


def snapshot_writer(cfg: settings.Settings, s3: S3Resource) -> SnapshotWriter:
    """Where the day's snapshots go: DCV_SNAPSHOT_URI's bucket and prefix, else the local snapshot directory."""
    uri = cfg.snapshot_uri
    if uri is None:
        return SnapshotWriter(cfg.snapshot_dir)
    bucket, prefix = settings.split_s3_uri(uri, "DCV_SNAPSHOT_URI")
    return SnapshotWriter(s3_client=s3.get_client(), bucket=bucket, prefix=prefix)
