"""Ingest assets for the organization and its detections: verbatim into raw, one daily partition at a time."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource

from dagster_project.defs.detections.collect import all_scans
from dagster_project.defs.partitions import daily_partitions
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.detections.snapshots import (
    ORGANIZATION_NAME,
    ORGANIZATION_SOURCE,
    SnapshotReader,
    SnapshotWriter,
)
from dagster_project.lib.detections.store import previous_scope_digests, previous_versions, store_partition
from dagster_project.lib.sources import cloud_exports
from dagster_project.lib.sources.accounts import (
    ACCOUNTS_FILE,
    Reject,
    merge_listings,
    organization_id_from_arn,
    parse_accounts,
    read_accounts_export,
)
from dagster_project.lib.sources.days import DayPlan, plan_days, snapshot_location
from dagster_project.lib.sources.exports import NotThatDay, tree_for
from dagster_project.lib.warehouse import loader

ORG_ACCOUNT_COLUMNS = ["partition_date", "provider", "account_id", "account_name", "organization_id", "status",
                       "source", "collected_at", "payload"]


@dg.asset(
    key=["raw", "org_accounts"],
    group_name="detections",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "postgres"},
    description="The organization's accounts per scan day, verbatim from the day's export "
    "organizations/list-accounts.json (aws organizations list-accounts) with each account's tags, from the live "
    "organization (ListAccounts, ListTagsForResource) when live AWS collection is on, or from the snapshot of the "
    "listing an earlier load kept (docs/export-layout.md, \"Days\"); Google Cloud projects and Azure subscriptions "
    "from their folder's projects-describe.json (gcloud projects describe) / account-show.json (az account show).",
)
def org_accounts(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 s3: S3Resource) -> dg.MaterializeResult:
    cfg = settings.load()
    plans = day_plans(cfg, context.partition_keys)
    writer, reader = snapshot_writer(cfg, s3), SnapshotReader(snapshot_location(cfg))
    collected_at = datetime.now(UTC)
    counts = {"accounts": 0, "rejected": 0, "days": 0, "days_kept": 0}
    with warehouse.connect() as conn:
        for plan in plans:
            listing = _accounts_listing(cfg, plan, writer, reader, context.log)
            if listing is None:
                counts["days_kept"] += 1
                context.log.warning(f"{plan.day}: re-derived from snapshots, which hold no accounts listing of that "
                                    "day; raw.org_accounts keeps the rows it has for it")
                continue
            accounts, clouds, rejects, source = listing
            rows = org_account_rows(plan.day, accounts, clouds, source, collected_at)
            loader.replace_rows(conn, "raw.org_accounts", {"partition_date": plan.day}, ORG_ACCOUNT_COLUMNS, rows)
            loader.quarantine(conn, "org_accounts", plan.day, [r.row() for r in rejects])
            for reject in rejects:
                context.log.warning(f"quarantined {reject.object_ref}: {reject.reason}")
            counts["accounts"] = len(accounts) + len(clouds)
            counts["rejected"] += len(rejects)
            counts["days"] += 1
    return dg.MaterializeResult(
        metadata={**counts, "export_dir": str(cfg.export_dir),
                  "sources": "; ".join(f"{p.day}: {p.describe()}" for p in plans)}
    )


def org_account_rows(day: date, accounts: list[dict], clouds: list[tuple[str, dict]], source: str,
                     collected_at: datetime) -> list[tuple]:
    """raw.org_accounts rows: the AWS listing's entries, then the projects' and subscriptions' descriptions."""
    rows = [(day, "aws", a["Id"], a.get("Name"), organization_id_from_arn(a.get("Arn")), a.get("Status"), source,
             collected_at, a) for a in accounts]
    for provider, entry in clouds:
        account_id, name, organization_id, status = cloud_exports.listed_account(provider, entry)
        rows.append((day, provider, account_id, name, organization_id, status, source, collected_at, entry))
    return rows


def day_plans(cfg: settings.Settings, partition_keys: list[str]) -> list[DayPlan]:
    """Each partition's sources, all checked before anything is written; a day no source can describe fails
    the step with one line (a dagster Failure, not a stack trace)."""
    try:
        return plan_days(cfg, [date.fromisoformat(k) for k in partition_keys])
    except NotThatDay as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def _accounts_listing(cfg: settings.Settings, plan: DayPlan, writer: SnapshotWriter, reader: SnapshotReader,
                      log=None):
    """(accounts, projects and subscriptions, rejects, source label) for the day, or None when the day is
    re-derived from snapshots that hold no listing. Live AWS adds the organization's own listing, each account
    with its tags (it wins over an export's entry for the same account). The listing as loaded (entries with
    their Tags; the projects' and subscriptions' descriptions) is kept in the snapshot store, so a later
    re-derivation of the day has it."""
    if plan.export_dir is not None or not (plan.export_snapshots or plan.aws_snapshots):
        export_dir = Path(plan.export_dir if plan.export_dir is not None else cfg.export_dir)
        accounts, rejects = read_accounts_export(export_dir)
        clouds, cloud_rejects = ([], []) if not export_dir.is_dir() else cloud_exports.read_listings(
            tree_for(export_dir))
        rejects += cloud_rejects
        listed = (export_dir / ACCOUNTS_FILE).is_file()
        source = f"export:{export_dir}"
        live = _live_listing(log) if plan.aws_live else None
        if live is not None:
            if not listed:  # the organization is listed live: an export without a listing is not missing one
                accounts, rejects, source = [], cloud_rejects, ""
            accounts = merge_listings(accounts, live)
            source = "+".join(filter(None, (source, "aws:organizations")))
        if (plan.export_dir is not None and (listed or clouds)) or live is not None:
            writer.write(ORGANIZATION_SOURCE, plan.day, ORGANIZATION_NAME, json.dumps(
                {"Accounts": accounts, **cloud_exports.snapshot_listings(clouds)}).encode())
        return accounts, clouds, rejects, source
    try:
        payload = reader.payload(ORGANIZATION_SOURCE, plan.day, ORGANIZATION_NAME)
    except FileNotFoundError:
        return None
    ref = reader.ref(ORGANIZATION_SOURCE, plan.day, ORGANIZATION_NAME)
    try:
        document = json.loads(payload)
    except ValueError as exc:
        return [], [], [Reject(ref, f"not valid JSON: {exc}")], f"snapshot:{ref}"
    accounts, rejects = parse_accounts(document, ref)
    clouds, cloud_rejects = cloud_exports.parse_snapshot_listings(document, ref)
    return accounts, clouds, rejects + cloud_rejects, f"snapshot:{ref}"


def _live_listing(log) -> list[dict] | None:
    """The organization's accounts with their tags (organizations:ListAccounts, ListTagsForResource), or None
    when the scanner may not list them (DCV_AWS_ACCOUNTS without Organizations access): the accounts then come
    from the scans alone, untagged, and the warning says why."""
    import boto3

    from dagster_project.lib.aws import org

    try:
        return org.list_accounts(boto3.Session(), with_tags=True)
    except Exception as exc:  # noqa: BLE001 -- any failure: the scans still run, the warning names it
        if log is not None:
            log.warning(f"live AWS: the organization's accounts and their tags were not listed "
                        f"({type(exc).__name__}): {org.scrub(str(exc))[:500]}")
        return None


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
    plans = day_plans(cfg, context.partition_keys)
    for plan in plans:
        day = plan.day
        context.log.info(f"{day}: reading {plan.describe()}")
        rejects: list = []
        # a second connection reads each account's previous versions while the first streams the day's COPY
        with warehouse.connect() as conn, warehouse.connect() as reader:
            known = previous_scope_digests(conn, "export", day)
            scans = all_scans(cfg, plan, rejects, context.log, known, keep_json=True,
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
    days = [plan.day for plan in plans]
    with warehouse.connect() as conn:
        scans, statuses, changed, live, declared = conn.execute(LOADED, {"days": days}).fetchone()
    # each table's own figures for the loaded days, so its asset page says what the load did to it
    yield dg.MaterializeResult(asset_key=["raw", "detection_contents"], metadata={
        "new_contents": totals["new_contents"], "detections_read": totals["detections"]})
    yield dg.MaterializeResult(asset_key=["raw", "detection_presence"], metadata={
        "intervals_opened": totals["opened"], "intervals_closed": totals["closed"],
        "detections_live_on_last_day": live, "scopes_unchanged": totals["scopes_unchanged"]})
    yield dg.MaterializeResult(asset_key=["raw", "detection_changes"], metadata={"changed_detections": changed})
    yield dg.MaterializeResult(asset_key=["raw", "scans"], metadata={
        "scans": scans, "by_status": dg.MetadataValue.json(statuses or {}), "accounts": totals["accounts"],
        "rejected_objects": totals["rejected"], "days": dg.MetadataValue.json([str(d) for d in days])})
    yield dg.MaterializeResult(asset_key=["raw", "declared_mappings"], metadata={"declared_techniques": declared})


# what one load left in each raw table, for the days it loaded
LOADED = """
select
    (select count(*) from raw.scans where partition_date = any(%(days)s)),
    (select jsonb_object_agg(status, n) from (
        select status, count(*) as n from raw.scans where partition_date = any(%(days)s) group by status) as s),
    (select count(*) from raw.detection_changes where partition_date = any(%(days)s)),
    (select count(*) from raw.detection_presence
     where valid_from <= (select max(d) from unnest(%(days)s::date[]) as d)
       and (valid_to is null or valid_to > (select max(d) from unnest(%(days)s::date[]) as d))),
    (select count(*) from raw.declared_mappings)
"""


def snapshot_writer(cfg: settings.Settings, s3: S3Resource) -> SnapshotWriter:
    """Where the day's snapshots go: DCV_SNAPSHOT_URI's bucket and prefix, else the local snapshot directory."""
    uri = cfg.snapshot_uri
    if uri is None:
        return SnapshotWriter(cfg.snapshot_dir)
    bucket, prefix = settings.split_s3_uri(uri, "DCV_SNAPSHOT_URI")
    return SnapshotWriter(s3_client=s3.get_client(), bucket=bucket, prefix=prefix)

# each asset's page links to the function that computes it
org_accounts, detections = dg.with_source_code_references([org_accounts, detections])
