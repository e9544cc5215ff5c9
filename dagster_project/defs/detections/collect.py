"""Turn each configured source into per-account scans for lib/detections/store (no Dagster objects here)."""

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime

from dagster_project.lib import settings
from dagster_project.lib.detections.store import AccountScan


def _is_reject(item) -> bool:
    return not isinstance(item, dict)


def export_scans(export_dir, rejects: list) -> Iterator[AccountScan]:
    """Export files: one scan per account directory; rejected files go to the caller's quarantine list."""
    from dagster_project.lib.sources.exports import read_export

    started = datetime.now(UTC)

    def records():
        for item in read_export(export_dir):
            if _is_reject(item):
                rejects.append((item.object_ref, item.reason, item.payload))
            else:
                yield item

    for account_id, group in itertools.groupby(records(), key=lambda r: r.get("account_id") or ""):
        group = list(group)
        regions = sorted({r.get("region") for r in group if r.get("region")})
        yield AccountScan("export", account_id, started, group, completed_at=datetime.now(UTC), regions=regions,
                          services_scanned=len({r["service"] for r in group}))


def repo_scans(repos, rejects: list) -> Iterator[AccountScan]:
    from dagster_project.lib.sources.rule_repos import read_elastic, read_sigma

    readers = {"sigma": read_sigma, "elastic": read_elastic}
    for kind, root in repos:
        started = datetime.now(UTC)
        kept = []
        for item in readers[kind](root):
            if _is_reject(item):
                rejects.append((item.object_ref, item.reason, item.payload))
            else:
                kept.append(item)
        # one "account" per repository, so a repository's rules appear and disappear like any scan's
        yield AccountScan(kind, "", started, kept, completed_at=datetime.now(UTC), services_scanned=1)


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


def all_scans(cfg: settings.Settings, day: date, rejects: list, log) -> Iterator[AccountScan]:
    if cfg.export_dir.is_dir():
        yield from export_scans(cfg.export_dir, rejects)
    if cfg.rule_repos:
        yield from repo_scans(cfg.rule_repos, rejects)
    if cfg.aws_scan:
        yield from aws_scans(cfg.aws_scan, log)
