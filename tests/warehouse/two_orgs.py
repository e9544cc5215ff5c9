"""A small warehouse holding two organizations, built the way the assets build it: the sample organization's
export for each (two accounts each, different seeds so different account and organization ids), their
ListAccounts listings in raw.org_accounts, one scan day stored and parsed, ATT&CK 18.1 and the knowledge sources,
then every dbt model. Used by the backup and the tenant isolation tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from dagster_project.defs.detections.assets import ORG_ACCOUNT_COLUMNS
from dagster_project.defs.detections.collect import export_scans
from dagster_project.lib import sample_org, settings
from dagster_project.lib.detections.store import store_partition
from dagster_project.lib.parsing.store import parse_pending
from dagster_project.lib.sources.accounts import organization_id_from_arn, read_accounts_export
from dagster_project.lib.warehouse import loader, scratch

DAY = date(2026, 3, 1)
SEEDS = (5, 11)


@dataclass(frozen=True)
class Organization:
    organization_id: str
    account_ids: tuple[str, ...]


def build(url: str, export_root: Path, accounts: int = 2, detections: int = 25) -> list[Organization]:
    """Load and build; returns the two organizations with their account ids."""
    scratch.load_attack(url, settings.load())
    scratch.dbt(url, "seed", "--quiet")
    orgs, dirs = [], []
    with psycopg.connect(url) as conn:
        for seed in SEEDS:
            export_dir = export_root / f"org-{seed}"
            sample_org.write_export(export_dir, accounts=accounts, detections_per_account=detections, seed=seed, day=DAY)
            listed, _ = read_accounts_export(export_dir)
            org_id = organization_id_from_arn(listed[0]["Arn"])
            orgs.append(Organization(org_id, tuple(a["Id"] for a in listed)))
            dirs.append(export_dir)
            # both listings in one day, the way a merged listing or two exports land
            conn.execute("delete from raw.org_accounts where partition_date = %s and organization_id = %s",
                         (DAY, org_id))
            loader.copy_rows(conn, "raw.org_accounts", ORG_ACCOUNT_COLUMNS, [
                (DAY, "aws", a["Id"], a.get("Name"), org_id, a.get("Status"), f"export:{export_dir}",
                 datetime(2026, 3, 1, 6, tzinfo=UTC), a) for a in listed])
        conn.commit()
        store_partition(conn, DAY, itertools.chain.from_iterable(export_scans(d, []) for d in dirs))
        conn.commit()
        parse_pending(conn)
        conn.commit()
    scratch.dbt(url, "build", "--quiet", "--exclude", "resource_type:seed", window=(DAY, DAY))
    return orgs
