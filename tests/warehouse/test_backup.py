"""`make backup` / `make restore` (docs/operations.md): a warehouse holding two organizations, people's review state,
a tenant role and a Dagster run is dumped, then restored into a fresh DCV_HOME (a new embedded server, so roles
too must come from the backup); everything reads back the same, and the roles work there."""

import json
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from dagster_project.lib import settings
from dagster_project.lib.warehouse import backup, connection, embedded, tenants
from tests.conftest import create_database, drop_database
from tests.warehouse import two_orgs

REVIEW_TABLES = ("app.gap_triage", "app.mapping_verdicts", "app.account_attributes", "app.tenants")


@dg.asset
def probe_asset() -> int:
    return 1


@pytest.fixture(scope="module")
def dagster_url(pg_server_url, tmp_path_factory):
    url = create_database(pg_server_url, prefix="dagster", template=None)
    yield url
    drop_database(pg_server_url, url)


def instance_at(url: str, home: Path) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url: "
                                       + repr(connection.sqlalchemy_url(url)) + "\ntelemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(home))


@pytest.fixture(scope="module")
def source(shared_dir, dbt_manifest, warehouse_url, dagster_url, tmp_path_factory):
    orgs = two_orgs.build(warehouse_url, tmp_path_factory.mktemp("exports"))
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        role = tenants.add(conn, orgs[0].organization_id).role
        gap = conn.execute("""select a.account_identifier, t.technique_id from marts.coverage_gaps as g
                              join marts.accounts as a on a.id = g.account_id
                              join marts.mitre_techniques as t on t.id = g.technique_id
                              order by g.risk_score desc, 1, 2 limit 1""").fetchone()
        conn.execute("""insert into app.gap_triage (account_id, technique_id, attack_version, status, note)
                        values (%s, %s, '18.1', 'accepted_risk', 'compensating control: SCP')""", gap)
        mapping = conn.execute("""select d.account_identifier, d.native_id, m.attack_technique_id
                                  from marts.detection_mappings as m join marts.detections as d on d.id = m.detection_id
                                  order by 2, 3 limit 1""").fetchone()
        conn.execute("""insert into app.mapping_verdicts (account_id, native_id, technique_id, verdict)
                        values (%s, %s, %s, 'validated')""", mapping)
        conn.execute("""insert into app.account_attributes (account_id, environment, criticality, owner)
                        values (%s, 'prod', 'high', 'team-payments')""", (orgs[0].account_ids[0],))
    instance = instance_at(dagster_url, tmp_path_factory.mktemp("dagster_home"))
    assert dg.materialize([probe_asset], instance=instance).success
    run_ids = sorted(r.run_id for r in instance.get_runs())
    instance.dispose()
    return {"orgs": orgs, "role": role, "run_ids": run_ids}


@pytest.fixture(scope="module")
def backed_up(source, warehouse_url, dagster_url, tmp_path_factory):
    out = tmp_path_factory.mktemp("backups")
    env = {"DCV_HOME": str(tmp_path_factory.mktemp("source_home")), "DCV_DATABASE_URL": warehouse_url}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DCV_DAGSTER_DATABASE_URL", dagster_url)
        folder = backup.backup(settings.load(env), out=out, log=lambda _: None)
    return folder


@pytest.fixture(scope="module")
def restored(backed_up):
    """A fresh DCV_HOME: its own embedded server, started by the restore. Outside pytest's temp root, which
    another pytest session run as root resets to 0700, locking the server's system user out (tests/conftest.py)."""
    home = Path(tempfile.mkdtemp(prefix="dcv-test-restore-"))
    cfg = settings.load({"DCV_HOME": str(home)})
    try:
        done = backup.restore(backed_up, cfg, log=lambda _: None)
        server = embedded.status(cfg.pgdata)
        yield cfg, done, server
    finally:
        embedded.stop(cfg.pgdata)
        shutil.rmtree(home, ignore_errors=True)


def _snapshot(conn: psycopg.Connection) -> dict:
    """Row counts of every mart table and view, and the review state row for row."""
    marts = [r[0] for r in conn.execute("""select c.relname from pg_class as c join pg_namespace as n
                                           on n.oid = c.relnamespace
                                           where n.nspname = 'marts' and c.relkind in ('r', 'v', 'm') order by 1""")]
    counts = {m: conn.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in marts}
    review = {t: conn.execute(f"select to_jsonb(t) - 'updated_at' - 'created_at' from {t} as t order by 1::text"
                              ).fetchall() for t in REVIEW_TABLES}
    return {"counts": counts, "review": review}


def test_the_backup_folder_describes_itself(backed_up, source):
    manifest = json.loads((backed_up / "manifest.json").read_text())
    assert set(manifest["databases"]) == {"warehouse", "dagster"}
    assert manifest["versions"]["server"].startswith("16") and "pg_dump (PostgreSQL) 16" in manifest["versions"]["pg_dump"]
    assert manifest["versions"]["schema_revision"]
    for entry in manifest["databases"].values():
        assert (backed_up / entry["file"]).stat().st_size == entry["bytes"] > 0
        assert len(entry["sha256"]) == 64
    counts = manifest["databases"]["warehouse"]["counts"]
    assert counts["marts.detections"] > 0 and counts["app.gap_triage"] == 1
    assert source["role"] in manifest["roles"] and "bi_reader" in manifest["roles"]
    assert (backed_up.stat().st_mode & 0o077) == 0  # password verifiers and data: the owner's only
    assert ((backed_up / "roles.sql").stat().st_mode & 0o077) == 0


def test_restore_gives_the_same_marts_and_review_state(restored, warehouse_url):
    cfg, done, server = restored
    assert server is not None and done.rows > 0
    with psycopg.connect(warehouse_url) as conn:
        before = _snapshot(conn)
    with psycopg.connect(server.url(settings.WAREHOUSE_DB)) as conn:
        after = _snapshot(conn)
    assert after["counts"] == before["counts"]
    assert after["review"] == before["review"]
    assert before["review"]["app.gap_triage"][0][0]["note"] == "compensating control: SCP"


def test_roles_work_after_restore(restored, source, warehouse_url):
    _, _, server = restored
    url = server.url(settings.WAREHOUSE_DB)
    with psycopg.connect(url, autocommit=True) as conn:
        total = conn.execute("select count(*) from marts.detections").fetchone()[0]
        conn.execute("set role bi_reader")
        assert conn.execute("select count(*) from marts.detections").fetchone()[0] == total
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select 1 from raw.scans")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"set role {source['role']}")
        accounts = {r[0] for r in conn.execute("select account_identifier from marts.accounts")}
        assert accounts == set(source["orgs"][0].account_ids)
        assert 0 < conn.execute("select count(*) from marts.detections").fetchone()[0] < total


def test_the_dagster_instance_is_restored(restored, source, tmp_path):
    _, _, server = restored
    instance = instance_at(server.url(settings.DAGSTER_DB), tmp_path / "dagster_home")
    try:
        assert sorted(r.run_id for r in instance.get_runs()) == source["run_ids"]
    finally:
        instance.dispose()


def test_restore_refuses_an_occupied_warehouse_and_a_damaged_backup(restored, backed_up, tmp_path):
    cfg, _, _ = restored
    with pytest.raises(backup.BackupError, match="already holds .* --force"):
        backup.restore(backed_up, cfg, log=lambda _: None)
    damaged = tmp_path / "damaged"
    shutil.copytree(backed_up, damaged)
    dump = damaged / "warehouse.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    with pytest.raises(backup.BackupError, match="does not match its checksum"):
        backup.restore(damaged, cfg, force=True, log=lambda _: None)
    (damaged / "manifest.json").unlink()
    with pytest.raises(backup.BackupError, match="is not a backup"):
        backup.restore(damaged, cfg, force=True, log=lambda _: None)


def test_forced_restore_replaces_the_warehouse(restored, backed_up):
    cfg, _, server = restored
    url = server.url(settings.WAREHOUSE_DB)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("delete from app.gap_triage")
    done = backup.restore(backed_up, cfg, force=True, log=lambda _: None)
    assert done.rows > 0
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from app.gap_triage").fetchone()[0] == 1


def test_only_the_project_roles_are_taken_from_the_roles_script():
    """pg_dumpall's lines as PostgreSQL 16 writes them: the server's own superuser is never altered, a managed
    server's admin (no superuser) restates no superuser-only attribute."""
    script = [
        "ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;",
        "ALTER ROLE bi_reader WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS "
        "PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy';",
        "GRANT bi_tenant TO tenant_o_abc WITH INHERIT TRUE GRANTED BY postgres;",
        "GRANT dcv_transform TO postgres WITH INHERIT TRUE GRANTED BY postgres;",
    ]
    altered = [backup._unquote(m.group(1)) for m in map(backup._ALTER_ROLE.match, script) if m]
    assert altered == ["postgres", "bi_reader"]  # restore keeps those whose name is in the manifest's roles
    assert backup._SUPERUSER_ONLY.sub("", script[1]) == (
        "ALTER ROLE bi_reader WITH INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy';")
    grants = [m.groups() for m in map(backup._GRANT_ROLE.match, script) if m]
    assert grants == [("bi_tenant", "tenant_o_abc"), ("dcv_transform", "postgres")]


def test_default_tenant_role_names_need_no_quoting():
    assert tenants.default_role("o-AbC123def0") == "tenant_o_abc123def0"
    assert tenants.default_role("o-" + "x" * 80) == ("tenant_o_" + "x" * 80)[:63]
