"""Turn each configured source into per-account scans for lib/detections/store (no Dagster objects here)."""

import functools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

from dagster_project.lib import settings
from dagster_project.lib.detections.store import AccountScan, stage
from dagster_project.lib.sources.days import DayPlan, snapshot_location


def _is_reject(item) -> bool:
    return not isinstance(item, dict)


def export_scans(export_dir, rejects: list, known: Mapping[str, dict] | None = None, *, workers: int = 1,
                 keep_json: bool = False, versions: Callable[[str], dict] | None = None) -> Iterator[AccountScan]:
    """Export files: one scan per account directory, in account order; rejected files go to the caller's
    quarantine list.

    `known` holds each account's scope digests from its previous scan (store.previous_scope_digests): a scope
    whose files are unchanged is not parsed and keeps its detections as they were. A scope with a rejected file
    records no digest, so it is read (and its rejects quarantined) again the next day.

    Each account's files are read, split and hashed (store.stage) in one of `workers` processes while the
    caller streams the previous accounts into PostgreSQL: that Python work is most of a load. keep_json: the
    caller writes snapshots (store.stage). workers=1 reads in this process.

    `versions` (store.previous_versions) gives each account's versions at the day: the reader then stages only
    the detections that are new, changed or gone (store.stage's `previous`), not every one it read.
    """
    from dagster_project.lib.sources.accounts import Reject
    from dagster_project.lib.sources.exports import accounts_in, tree_for

    known = known or {}
    accounts = []
    for account in accounts_in(tree_for(export_dir)):
        if isinstance(account, Reject):
            rejects.append(account.row())
        else:
            accounts.append(account)
    jobs = ((str(export_dir), account, known.get(account, {}), keep_json, versions(account) if versions else None)
            for account in accounts)
    for scan, scan_rejects in _in_workers(_export_account, jobs, min(workers, len(accounts))):
        rejects.extend(scan_rejects)
        if scan is not None:
            yield scan


def _in_workers(function, jobs: Iterable[tuple], workers: int) -> Iterator:
    """function(*job) for each job, results in job order; with workers > 1 in that many spawned processes,
    at most 2 x workers jobs ahead of the consumer (memory stays bounded by the window, not the export)."""
    if workers <= 1:
        yield from (function(*job) for job in jobs)
        return
    # spawn, not fork: the caller holds an open PostgreSQL connection (and Dagster's threads)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        window: deque = deque()
        for job in jobs:
            window.append(pool.submit(function, *job))
            if len(window) >= 2 * workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


@functools.lru_cache(maxsize=4)
def _tree(export_dir: str):
    """One reader (an S3 client for s3:// exports) per process, not per account."""
    from dagster_project.lib.sources.exports import tree_for

    return tree_for(export_dir)


def _export_account(export_dir: str, account: str, previous: dict, keep_json: bool,
                    versions: dict | None = None) -> tuple[AccountScan | None, list]:
    """One account's export files -> its scan, staged for the store, and the rows of its rejected files."""
    from dagster_project.lib.sources.accounts import Reject
    from dagster_project.lib.sources.exports import read_account_scopes

    started = datetime.now(UTC)
    rejects, records, unchanged, digests, services = [], [], set(), {}, set()
    failed, errors, read = set(), [], set()
    # a digest without its detection count (stored before counts were) cannot stand in for reading
    usable = {k: v["digest"] for k, v in previous.items() if "detections" in v}
    account_rejected = False
    for scope in read_account_scopes(_tree(export_dir), account, usable):
        if isinstance(scope, Reject):
            rejects.append(scope.row())
            account_rejected = True
            errors.append({"region": None, "service": None, "error_code": "Rejected",
                           "object_ref": scope.object_ref, "message": scope.reason})
            continue
        read.add((scope.region, scope.service))
        scope_rejects = [i for i in scope.items if _is_reject(i)]
        rejects.extend(r.row() for r in scope_rejects)
        records += [i for i in scope.items if not _is_reject(i)]
        if scope.skipped:
            unchanged.add((scope.region, scope.service))
            digests[scope.key] = previous[scope.key]
            services.add(scope.service)
        elif scope.service and not scope_rejects and not scope.incomplete:
            digests[scope.key] = {"digest": scope.digest}  # the store stamps the day it was read
        elif scope.service:
            # a rejected file or item: the scope was not fully read, so what it held is "not scanned", never
            # "deleted" (store: its detections keep their state), and the scan is partial
            failed.add((scope.region, scope.service))
            errors += [{"region": scope.region, "service": scope.service, "error_code": "Rejected",
                        "object_ref": r.object_ref, "message": r.reason} for r in scope_rejects]
            if not scope_rejects:  # a side file rejected by another scope of the region (the tag file)
                errors.append({"region": scope.region, "service": scope.service, "error_code": "Withheld",
                               "message": "records left out: a side file they join was rejected"})
    if account_rejected:
        # a directory that is not a region (a misnamed region folder) may hold any scope: every scope the account
        # had that was not read today is not scanned, rather than gone
        known_scopes = {tuple(key.split("/", 1)) for key in previous} | {k[:2] for k in versions or {}}
        failed |= {scope for scope in known_scopes if scope not in read}
    services |= {r["service"] for r in records}
    if not records and not unchanged:
        return None, rejects  # nothing readable: the account's detections stay as they were
    scan = AccountScan("export", account, started, records, completed_at=datetime.now(UTC),
                       status="partial" if failed else "completed", errors=errors,
                       regions=sorted({r.get("region") for r in records if r.get("region")}
                                      | {region for region, _ in unchanged}),
                       services_scanned=len(services), failed_scopes=failed, unchanged_scopes=unchanged,
                       scope_digests=digests)
    # Sentinel analytics rules declare their techniques: kept as declared mappings, as Sigma's and Elastic's
    from dagster_project.lib.sources import cloud_exports

    declared = cloud_exports.declared_tags if cloud_exports.provider_of(account) == "azure" else None
    scan.staged = stage(scan, keep_json=keep_json, previous=versions, declared_tags=declared)
    scan.records = []  # all in staged: nothing large goes back to the loading process
    return scan, rejects


def repo_scans(repos, rejects: list) -> Iterator[AccountScan]:
    from dagster_project.lib.sources.rule_repos import read_elastic, read_sigma

    readers = {"sigma": read_sigma, "elastic": read_elastic}
    for kind, root in repos:
        started = datetime.now(UTC)
        if not Path(root).is_dir():
            # a repository that cannot be read says nothing about its rules: they keep their state
            rejects.append((str(root), f"{kind} rule repository not found (DCV_RULE_REPOS)", None))
            yield AccountScan(kind, "", started, [], status="failed", completed_at=datetime.now(UTC),
                              errors=[{"error_code": "NotFound", "object_ref": str(root),
                                       "message": "rule repository not found"}])
            continue
        kept, bad = [], []
        for item in readers[kind](root):
            if _is_reject(item):
                bad.append(item)
            else:
                kept.append(item)
        rejects.extend(r.row() for r in bad)
        # one "account" per repository, so a repository's rules appear and disappear like any scan's; a rejected
        # file's rule is unknown, so while any file is rejected no rule of the repository is taken as deleted
        yield AccountScan(kind, "", started, kept, completed_at=datetime.now(UTC), services_scanned=1,
                          status="partial" if bad else "completed",
                          errors=[{"error_code": "Rejected", "object_ref": r.object_ref, "message": r.reason}
                                  for r in bad],
                          failed_scopes={("", kind)} if bad else set())


def aws_scans(config: dict, log) -> Iterator[AccountScan]:
    import boto3

    from dagster_project.lib.aws import org

    session = boto3.Session()
    accounts = config["accounts"] or [a["Id"] for a in org.list_accounts(session) if a.get("Status") == "ACTIVE"]
    for result in org.scan_organization(session, accounts, config["role_name"], config["regions"],
                                        max_workers=config["max_workers"]):
        for error in result.errors:
            log.warning(f"account {result.account_id}: {error.get('region')}/{error.get('service')}: "
                        f"{error.get('error_code')}")
        failed = {(e.get("region") or "", e.get("service")) for e in result.errors if e.get("service")}
        records = [{**r, "account_id": result.account_id} for r in result.records]
        yield AccountScan("aws", result.account_id, result.started_at, records, status=result.status,
                          completed_at=result.completed_at, errors=result.errors,
                          regions=sorted({r.get("region") for r in records if r.get("region")}),
                          services_scanned=result.services_scanned, failed_scopes=failed)


def snapshot_scans(location, source: str, day: date) -> Iterator[AccountScan]:
    """A past day re-derived from the snapshots an earlier load of it wrote (lib/detections/snapshots), one scan
    per account as that load stored it (export or live AWS)."""
    from dagster_project.lib.detections.snapshots import SnapshotReader

    reader = SnapshotReader(location)
    for account in reader.accounts(source, day):
        started = datetime.now(UTC)
        records = reader.records(source, day, account)
        yield AccountScan(source, account, started, records, completed_at=datetime.now(UTC),
                          regions=sorted({r.get("region") for r in records if r.get("region")}),
                          services_scanned=len({r.get("service") for r in records}))


def all_scans(cfg: settings.Settings, plan: DayPlan, rejects: list, log,
              known_exports: Mapping[str, dict] | None = None, *, keep_json: bool = False,
              export_versions: Callable[[str], dict] | None = None) -> Iterator[AccountScan]:
    """The day's scans from the sources its plan names (lib/sources/days.plan_day)."""
    if plan.export_dir is not None:
        yield from export_scans(plan.export_dir, rejects, known_exports, workers=cfg.read_workers,
                                keep_json=keep_json, versions=export_versions)
    if plan.export_snapshots:
        log.info(f"{plan.day}: export re-derived from the snapshots in {snapshot_location(cfg)}")
        yield from snapshot_scans(snapshot_location(cfg), "export", plan.day)
    if cfg.rule_repos:
        yield from repo_scans(cfg.rule_repos, rejects)
    if plan.aws_live:
        yield from aws_scans(cfg.aws_scan, log)
    if plan.aws_snapshots:
        log.info(f"{plan.day}: live AWS re-derived from the snapshots in {snapshot_location(cfg)}")
        yield from snapshot_scans(snapshot_location(cfg), "aws", plan.day)
