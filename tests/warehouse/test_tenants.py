"""Tenant isolation (docs/operations.md, "Tenants"): two organizations in one warehouse, a tenant role each. A
tenant reads its own organization's rows in every tenant-visible mart and view, none of the other's by any query
(filters, lookups by id, COPY, a function that raises on what it sees, planner statistics), nothing of the
organization-wide marts; bi_reader still reads everything; the policies survive a full refresh and a daily
merge leaves them as they were."""

import json
from contextlib import contextmanager

import psycopg
import pytest

from dagster_project.lib.warehouse import scratch, tenants
from tests.warehouse import two_orgs

# how a superuser finds an organization's rows of a mart, by its tenant_scope (dbt_project.yml)
OWN_ROWS = {
    "organization": "organization_id = %(org)s",
    "account": "account_id in (select id from marts.accounts where organization_id = %(org)s)",
    "detection": """detection_id in (select d.id from marts.detections as d join marts.accounts as a
                                     on a.id = d.account_id where a.organization_id = %(org)s)""",
    "snapshot": """snapshot_id in (select s.id from marts.scan_snapshots as s join marts.accounts as a
                                   on a.id = s.account_id where a.organization_id = %(org)s)""",
    "content": """content_hash in (select d.content_hash from marts.detections as d join marts.accounts as a
                                   on a.id = d.account_id where a.organization_id = %(org)s)""",
}
# what a tenant must find of its own: detections, mappings, gaps, history, and more
MUST_HAVE_ROWS = ("accounts", "detections", "detection_mappings", "detection_logic", "coverage_gaps",
                  "coverage_history", "coverage_scores", "detection_health_findings", "scan_snapshots",
                  "v_account_coverage", "v_coverage_gaps_current", "detection_health")


@pytest.fixture(scope="module")
def built(shared_dir, dbt_manifest, warehouse_url, tmp_path_factory):
    orgs = two_orgs.build(warehouse_url, tmp_path_factory.mktemp("exports"))
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        roles = [tenants.add(conn, org.organization_id).role for org in orgs]
        # a function that fails the query if it is ever called with the other organization's account
        conn.execute("create schema if not exists probe")
        conn.execute("grant usage on schema probe to bi_tenant")
        conn.execute("""create or replace function probe.refuse(account uuid, forbidden uuid[]) returns boolean
                        language plpgsql cost 0.00001 as $$
                        begin
                            if account = any(forbidden) then raise exception 'saw forbidden account %', account; end if;
                            return true;
                        end $$""")
    return list(zip(orgs, roles, strict=True))


@contextmanager
def as_role(url: str, role: str):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"set role {role}")
        yield conn


def scopes(dbt_manifest) -> dict[str, str]:
    """mart -> tenant_scope, from the manifest dbt built with."""
    nodes = json.loads(dbt_manifest.read_text())["nodes"].values()
    return {n["name"]: n["config"]["meta"]["tenant_scope"] for n in nodes
            if n["resource_type"] == "model" and n["schema"] == "marts" and n["config"]["materialized"] != "ephemeral"}


def identifiers(db, org) -> list[str]:
    """Everything that names the organization's accounts and detections: account numbers and ids, detection ids."""
    params = {"org": org.organization_id}
    accounts = [str(r[0]) for r in db.execute("select id from marts.accounts where organization_id = %(org)s", params)]
    detections = [str(r[0]) for r in db.execute(f"select id from marts.detections where {OWN_ROWS['account']}",
                                                 params)]
    return [*org.account_ids, *accounts, *detections]


def test_each_tenant_reads_exactly_its_own_rows(built, dbt_manifest, db, warehouse_url):
    for org, role in built:
        with as_role(warehouse_url, role) as conn:
            for mart, scope in scopes(dbt_manifest).items():
                if scope == "none":
                    continue
                seen = conn.execute(f"select count(*) from marts.{mart}").fetchone()[0]
                if scope in OWN_ROWS:
                    own = db.execute(f"select count(*) from marts.{mart} where {OWN_ROWS[scope]}",
                                     {"org": org.organization_id}).fetchone()[0]
                    assert seen == own, (role, mart)
                elif scope == "shared":
                    assert seen == db.execute(f"select count(*) from marts.{mart}").fetchone()[0], (role, mart)
                if mart in MUST_HAVE_ROWS:
                    assert seen > 0, (role, mart)
            own_accounts = {r[0] for r in conn.execute("select account_identifier from marts.accounts")}
            assert own_accounts == set(org.account_ids)
            assert conn.execute("select role_name, organization_id from app.tenants").fetchall() == [
                (role, org.organization_id)]


def test_no_query_reads_another_tenants_rows(built, dbt_manifest, db, warehouse_url):
    (mine, role), (theirs, _) = built
    forbidden = identifiers(db, theirs)
    their_accounts = [r[0] for r in db.execute("select id from marts.accounts where organization_id = %s",
                                               (theirs.organization_id,))]
    their_detection = db.execute(f"select id from marts.detections where {OWN_ROWS['account']} limit 1",
                                 {"org": theirs.organization_id}).fetchone()[0]
    with as_role(warehouse_url, role) as conn:
        for mart, scope in scopes(dbt_manifest).items():
            if scope == "none":
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"select 1 from marts.{mart} limit 1")
                continue
            text = "\n".join(r[0] for r in conn.execute(f"select to_jsonb(t)::text from marts.{mart} as t"))
            leaked = [i for i in forbidden if i in text]
            assert not leaked, (mart, leaked[:3])
        # a lookup by the other organization's ids, directly and through a view
        assert conn.execute("select count(*) from marts.detections where id = %s", (their_detection,)).fetchone() == (0,)
        assert conn.execute("select count(*) from marts.detection_mappings where detection_id = %s",
                            (their_detection,)).fetchone() == (0,)
        assert conn.execute("select count(*) from marts.v_coverage_gaps_current where account_id = any(%s)",
                            (their_accounts,)).fetchone() == (0,)
        assert conn.execute("select count(*) from marts.coverage_history where account_id = any(%s)",
                            (their_accounts,)).fetchone() == (0,)
        # a cheap function the planner would like to run first sees only the tenant's rows
        for mart in ("detections", "coverage_gaps", "coverage_history", "v_account_coverage"):
            conn.execute(f"select count(*) from marts.{mart} where probe.refuse(account_id, %s)", (their_accounts,))
        # COPY applies the policies too
        with conn.cursor().copy("copy marts.detections to stdout") as copy:
            dumped = b"".join(bytes(block) for block in copy).decode()
        assert dumped and not [i for i in forbidden if i in dumped]
        # planner statistics of a table with row-level security are hidden from a reader it applies to
        assert conn.execute("select count(*) from pg_stats where schemaname = 'marts' and tablename = 'detections'"
                            ).fetchone() == (0,)
        for private in ("raw.scans", "app.gap_triage", "app.account_attributes", "marts.v_organization_coverage"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {private} limit 1")


def test_bi_reader_still_reads_every_organization(built, dbt_manifest, db, warehouse_url):
    with as_role(warehouse_url, "bi_reader") as conn:
        for mart in scopes(dbt_manifest):
            count = f"select count(*) from marts.{mart}"
            assert conn.execute(count).fetchone() == db.execute(count).fetchone(), mart
        orgs = {r[0] for r in conn.execute("select organization_id from marts.accounts")}
    assert orgs == {org.organization_id for org, _ in built}


def _policies(db) -> dict[str, int]:
    return dict(db.execute("""select tablename || '.' || policyname, (select oid from pg_policy
                                                                     where polname = p.policyname
                                                                       and polrelid = ('marts.' || p.tablename)::regclass)
                              from pg_policies as p where schemaname = 'marts'"""))


def test_policies_survive_rebuilds_and_a_daily_merge_keeps_them(built, dbt_manifest, db, warehouse_url):
    policed = {m for m, s in scopes(dbt_manifest).items() if s in OWN_ROWS}
    before = _policies(db)
    assert {name.split(".")[0] for name in before} == policed
    # accounts is a table, replaced on every run: the policies that admit rows by account must outlive its old copy
    scratch.dbt(warehouse_url, "run", "--quiet", "--select", "accounts", "detections", "detection_mappings",
                window=(two_orgs.DAY, two_orgs.DAY))
    assert {k: v for k, v in _policies(db).items() if not k.startswith("accounts.")} == {
        k: v for k, v in before.items() if not k.startswith("accounts.")}  # the same policies, not made again
    assert set(_policies(db)) == set(before)
    scratch.dbt(warehouse_url, "run", "--quiet", "--full-refresh", "--select", "accounts", "detections",
                "detection_mappings", "coverage_gaps", "config.materialized:view", window=(two_orgs.DAY, two_orgs.DAY))
    after = _policies(db)
    assert set(after) == set(before)
    rls = dict(db.execute("""select c.relname, c.relrowsecurity from pg_class as c
                             join pg_namespace as n on n.oid = c.relnamespace
                             where n.nspname = 'marts' and c.relname = any(%s)""", (sorted(policed),)))
    assert rls == dict.fromkeys(policed, True)
    invoker = db.execute("""select c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
                            where n.nspname = 'marts' and c.relkind = 'v'
                              and not coalesce('security_invoker=true' = any(c.reloptions), false)""").fetchall()
    assert invoker == []
    test_each_tenant_reads_exactly_its_own_rows(built, dbt_manifest, db, warehouse_url)


def test_tenant_roles_are_refused_when_they_could_not_be_isolated(built, db):
    (org, role), (other, _) = built
    assert tenants.add(db, org.organization_id).role == role  # again: nothing changes
    with pytest.raises(ValueError, match="project's own roles"):
        tenants.add(db, other.organization_id, role="bi_reader")
    with pytest.raises(ValueError, match="superuser"):
        tenants.add(db, other.organization_id, role="postgres")
    with pytest.raises(ValueError, match="lowercase identifier"):
        tenants.add(db, other.organization_id, role='x"; drop table marts.accounts; --')
    assert [t.role for t in tenants.tenants(db)] == sorted(r for _, r in built)
