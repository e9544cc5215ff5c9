"""A Google Cloud project and an Azure subscription through Postgres and dbt (hand-made export,
tests/fixtures/exports/clouds): accounts with their provider, the alert path decides health, indicators from the
curated seed and CTID map detections, Sentinel's own tags are declared mappings, coverage is per provider; a
project's and a subscription's own description names them and puts them in their organization, which a tenant role
of that organization reads and no other."""

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from dagster_project.defs.detections.assets import ORG_ACCOUNT_COLUMNS, org_account_rows
from dagster_project.defs.detections.collect import export_scans
from dagster_project.lib import settings
from dagster_project.lib.detections.store import store_partition
from dagster_project.lib.parsing.store import parse_pending
from dagster_project.lib.sources import cloud_exports
from dagster_project.lib.sources.exports import tree_for
from dagster_project.lib.warehouse import loader, scratch, tenants

FIXTURE = Path(__file__).parents[1] / "fixtures" / "exports" / "clouds"
DAY = date(2026, 3, 1)
PROJECT, SUBSCRIPTION = "fixture-project-01", "0b7c1e2a-3d4f-4a5b-8c6d-7e8f9a0b1c2d"
GCP_ORGANIZATION, AZURE_TENANT = "482759301625", "c4e1f0a2-9b3d-4e5f-8a6b-2d7c9e1f3a40"


@pytest.fixture(scope="module")
def built(shared_dir, dbt_manifest, warehouse_url):
    # CTID's files name ATT&CK 16.1: their rows reach 18.1 through it (docs/attack.md)
    cfg = settings.load()
    attack = shared_dir / "attack"
    scratch.load_attack(warehouse_url, replace(cfg, attack_source=",".join(
        str(attack / f"enterprise-attack-{v}.json.gz") for v in ("16.1", "18.1"))))
    scratch.dbt(warehouse_url, "seed", "--quiet")
    rejects: list = []
    with psycopg.connect(warehouse_url) as conn:
        scans = list(export_scans(FIXTURE, rejects))
        for scan in scans:  # as the ingest asset stages Azure scans: Sentinel's tags become declared mappings
            scan.staged = None
        stats = store_partition(conn, DAY, [_unstaged(s) for s in scans], declared_tags=cloud_exports.declared_tags)
        parse_pending(conn)
        # as the org_accounts asset loads them: gcloud projects describe / az account show, verbatim
        listed, listing_rejects = cloud_exports.read_listings(tree_for(FIXTURE))
        assert listing_rejects == []
        loader.copy_rows(conn, "raw.org_accounts", ORG_ACCOUNT_COLUMNS, org_account_rows(
            DAY, [], listed, f"export:{FIXTURE}", datetime(2026, 3, 1, 6, tzinfo=UTC)))
        conn.commit()
    scratch.dbt(warehouse_url, "build", "--quiet", "--exclude", "resource_type:seed", window=(DAY, DAY))
    return rejects + stats.rejects


def _unstaged(scan):
    """The scan with its records read again (export_scans stages them for a loader in another process)."""
    from dagster_project.lib.sources.exports import read_account, tree_for

    scan.records = [r for r in read_account(tree_for(FIXTURE), scan.account_id) if isinstance(r, dict)]
    return scan


def test_projects_and_subscriptions_are_accounts_of_their_provider(built, db):
    rows = db.execute("""select p.name, a.account_identifier from marts.accounts a
                         join marts.cloud_providers p on a.provider_id = p.id order by 1""").fetchall()
    assert rows == [("azure", SUBSCRIPTION), ("gcp", PROJECT)]
    assert {r[0].rsplit("/", 1)[-1] for r in built} >= {"Bad_Project", "monitor-scheduled-query-list.json"}


def test_projects_and_subscriptions_are_named_tagged_and_in_their_organization(built, db):
    rows = db.execute("""select account_identifier, account_name, organization_id, environment, criticality, owner,
                                account_status
                         from marts.accounts order by 1""").fetchall()
    assert rows == [
        # az account show's name and tenantId; az tag list's tags (Environment=dev, Owner); no criticality tag
        (SUBSCRIPTION, "Fixture Subscription", AZURE_TENANT, "dev", "medium", "identity-team", "active"),
        # gcloud projects describe's name and labels; the organization among its ancestors (its parent is a folder)
        (PROJECT, "Fixture Project", GCP_ORGANIZATION, "prod", "high", "platform-security", "active"),
    ]


def test_a_tenant_of_the_organization_reads_its_project_or_subscription_and_no_other(built, warehouse_url):
    roles = {}
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for organization, account in ((GCP_ORGANIZATION, PROJECT), (AZURE_TENANT, SUBSCRIPTION)):
            roles[account] = tenants.add(conn, organization, role=f"tenant_gcp_azure_test_{len(roles)}").role
    try:
        for account, role in roles.items():
            with psycopg.connect(warehouse_url, autocommit=True) as conn:
                conn.execute(f"set role {role}")
                seen = conn.execute("select account_identifier from marts.accounts").fetchall()
                detections = conn.execute("""select distinct a.account_identifier from marts.detections d
                                             join marts.accounts a on a.id = d.account_id""").fetchall()
                gaps = conn.execute("""select count(*), count(distinct account_id)
                                       from marts.v_coverage_gaps_current""").fetchone()
            assert seen == [(account,)] and detections == [(account,)]
            assert gaps[0] > 0 and gaps[1] == 1
    finally:
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            for role in roles.values():
                tenants.remove(conn, role)


def test_one_tenant_role_reads_a_companys_organizations_on_every_cloud(built, warehouse_url, db):
    """A company's Google Cloud organization and Entra tenant behind one BI role (dcv tenant add ORG --role R):
    it reads both; taking one organization away leaves the other; taking the last drops the role."""
    role = "tenant_gcp_azure_company"

    def accounts_seen() -> list[str]:
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            conn.execute(f"set role {role}")
            return [r[0] for r in conn.execute("select account_identifier from marts.accounts order by 1")]

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for organization in (GCP_ORGANIZATION, AZURE_TENANT):
            tenants.add(conn, organization, role=role)
        try:
            assert sorted(t.organization_id for t in tenants.tenants(conn) if t.role == role) == sorted(
                [GCP_ORGANIZATION, AZURE_TENANT])
            assert accounts_seen() == sorted([SUBSCRIPTION, PROJECT])
            assert tenants.remove(conn, role, AZURE_TENANT)
            assert accounts_seen() == [PROJECT]
        finally:
            tenants.remove(conn, role)
        assert not tenants.remove(conn, role)
        assert db.execute("select count(*) from pg_roles where rolname = %s", (role,)).fetchone()[0] == 0


def test_the_alert_path_decides_health(built, db):
    health = dict(db.execute("""
        select d.name, h.status || ': ' || coalesce(h.error_details, '')
        from marts.detections d join marts.detection_health_findings h on h.detection_id = d.id""").fetchall())
    assert health["sa-key-created"] == "healthy: "  # its policy is enabled and has an enabled channel
    assert health["instance-deletes"] == ("broken: broken: no alert policy on its metric can alert: Instance deletes "
                                          "(alert policy has no notification channels)")
    assert health["sink-deleted"] == "broken: broken: log-based metric feeds no alert policy"
    assert health["Instance deletes"] == "broken: broken: alert policy has no notification channels"
    assert health["nsg"] == "healthy: "
    assert health["roles"] == "broken: broken: alert has no action groups"
    assert health["StorageAccounts"].startswith("broken: broken: detection is disabled")  # the Free tier


def test_indicators_map_methods_operations_and_finding_families(built, db):
    mapped = {}
    for name, technique, confidence, method in db.execute("""
            select d.name, t.technique_id, m.confidence_score::float, m.mapping_method
            from marts.detection_mappings m join marts.detections d on m.detection_id = d.id
            join marts.mitre_techniques t on m.technique_id = t.id"""):
        mapped.setdefault(name, {})[technique] = (confidence, method)
    assert mapped["sa-key-created"]["T1098.001"] == (0.85, "pattern_match")
    assert mapped["instance-deletes"]["T1578.003"] == (0.6, "pattern_match")  # a ':' test: 0.80 x 0.75
    assert mapped["nsg"]["T1562.007"][0] == 0.8
    # CTID: Defender for Resource Manager's detect rows, on the plan that is on
    assert mapped["Arm"] and {m for _, m in mapped["Arm"].values()} == {"vendor_mapping"}
    assert "StorageAccounts" not in mapped
    # ETD's CTID rows (assigned by ctid_capability_families_seed), e.g. service accounts created
    assert mapped["event-threat-detection"]["T1136.003"] == (0.68, "vendor_mapping")
    # Sentinel: inference finds T1098.003 from the query; the rule's own T1098 stays as declared (disputed)
    assert mapped["Privileged role added"]["T1098.003"][1] == "pattern_match"
    assert mapped["Privileged role added"]["T1098"][1] == "declared"


def test_coverage_is_per_provider_scope(built, db):
    covered = dict(db.execute("""
        select a.account_identifier, array_agg(distinct t.technique_id order by t.technique_id)
        from marts.coverage_history h join marts.accounts a on h.account_id = a.id
        join marts.mitre_techniques t on h.technique_id = t.id
        where h.is_covered group by 1""").fetchall())
    assert "T1098.001" in covered[PROJECT] and "T1136.003" in covered[PROJECT]
    assert "T1578.003" not in covered[PROJECT]  # its only policy alerts nobody
    assert "T1562.007" in covered[SUBSCRIPTION]
    assert "T1098.003" in covered[SUBSCRIPTION]  # the Sentinel rule: Sentinel raises incidents, no action group
    gaps = dict(db.execute("""
        select a.account_identifier, array_agg(g.technique_id) from marts.v_coverage_gaps_current g
        join marts.accounts a on g.account_id = a.id group by 1""").fetchall())
    # Azure's scope includes Identity Provider techniques; Google Cloud's does not
    assert "T1098.005" in gaps[SUBSCRIPTION] and "T1098.005" not in gaps[PROJECT]  # Device Registration
