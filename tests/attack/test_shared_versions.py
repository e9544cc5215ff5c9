"""The real ATT&CK 16.1, 17.1, 18.1 bundles and the CTID AWS mappings (../shared), loaded once per module.

Expectations were checked against the data: 18.1 has 14 tactics and 691 live techniques + sub-techniques;
17.1 -> 18.1 adds 12 and renames 2; 16.1 -> 17.1 revokes T1574.002 in favour of T1574.001.
"""

from pathlib import Path

import psycopg
import pytest

from dagster_project.lib import settings
from dagster_project.lib.attack import bundle, knowledge, sources, store
from dagster_project.lib.warehouse import scratch

VERSIONS = ["16.1", "17.1", "18.1"]


@pytest.fixture(scope="module")
def loaded(shared_dir, warehouse_url):
    paths = [shared_dir / "attack" / f"enterprise-attack-{v}.json.gz" for v in VERSIONS]
    ctid = sorted((shared_dir / "ctid" / "mappings-explorer").glob("aws-*.json"))
    if not all(p.exists() for p in paths) or not ctid:
        pytest.skip(f"ATT&CK bundles or CTID mappings missing under {shared_dir}")
    with psycopg.connect(warehouse_url) as conn:
        statuses = [store.load_bundle(conn, bundle.parse(str(p), p.read_bytes())) for p in paths]
        store.load_knowledge(conn, knowledge.parse_ctid(str(ctid[0]), ctid[0].read_bytes()), "ctid_mappings_explorer")
        if (shared_dir / "traildiscover" / "events").is_dir():
            store.load_knowledge(conn, knowledge.read_traildiscover(shared_dir / "traildiscover"), "traildiscover")
        if knowledge.is_stratus(str(shared_dir / "stratus-red-team")):
            store.load_knowledge(conn, knowledge.read_stratus(shared_dir / "stratus-red-team"), "stratus_red_team")
        store.activate_if_none(conn, VERSIONS)
        conn.execute("""insert into app.manual_mappings (native_id, technique_id, attack_version, rationale)
                        values ('dll-rule', 'T1574.002', '16.1', 'written against 16.1')""")
    scratch.dbt(warehouse_url, "build", "--quiet", "-s", "+path:models/marts/attack", "path:seeds/knowledge")
    return {"paths": paths, "statuses": statuses}


def test_versions_loaded_and_newest_active(loaded, db):
    assert loaded["statuses"] == ["loaded"] * 3
    rows = db.execute("select version, is_active from marts.mitre_versions order by version_sort").fetchall()
    assert rows == [("16.1", False), ("17.1", False), ("18.1", True)]


def test_reload_is_idempotent(loaded, db):
    before = db.execute("select count(*), max(loaded_at) from raw.attack_bundles").fetchone()
    path = loaded["paths"][-1]
    assert store.load_bundle(db, bundle.parse(str(path), path.read_bytes())) == "unchanged"
    assert db.execute("select count(*), max(loaded_at) from raw.attack_bundles").fetchone() == before
    assert db.execute("select count(*) from raw.attack_objects where attack_version = '18.1'").fetchone()[0] == 24771


def test_18_1_matrix_counts(loaded, db):
    tactics, techniques = db.execute("""
        select (select count(*) from marts.mitre_tactics t where t.version_id = v.id and not t.is_revoked),
               (select count(*) from marts.mitre_techniques t
                 where t.version_id = v.id and not t.is_revoked and not t.is_deprecated)
        from marts.mitre_versions v where v.version = '18.1'""").fetchone()
    assert (tactics, techniques) == (14, 691)
    orders = db.execute("""select array_agg(display_order order by display_order) from marts.mitre_tactics t
                           join marts.mitre_versions v on v.id = t.version_id where v.version = '18.1'""").fetchone()[0]
    assert orders == list(range(1, 15))


def test_17_to_18_adds_12_renames_2(loaded, db):
    counts = dict(db.execute("""select change_kind, count(*) from marts.mitre_version_diff
                                where from_version = '17.1' and to_version = '18.1' and object_type = 'technique'
                                group by 1""").fetchall())
    assert counts.get("added") == 12 and counts.get("renamed") == 2


def test_t1574_002_revoked_and_carried(loaded, db):
    diff = db.execute("""select new_external_id from marts.mitre_version_diff where from_version = '16.1'
                         and to_version = '17.1' and change_kind = 'revoked' and external_id = 'T1574.002'""")
    assert diff.fetchone() == ("T1574.001",)
    carried = db.execute("""select technique_id, remap_kind, remap_chain from marts.review_state_remapped
                            where item_source = 'manual_mapping' and recorded_technique_id = 'T1574.002'""")
    assert carried.fetchone() == ("T1574.001", "revoked_by", ["T1574.002", "T1574.001"])


def test_threat_indicators_from_every_source(loaded, db):
    sources = dict(db.execute("select source, count(*) from marts.threat_indicators group by 1").fetchall())
    assert set(sources) == {"attack_analytic", "ctid_mappings_explorer", "traildiscover", "stratus_red_team", "curated"}
    ctid_versions = db.execute("""select distinct attack_version from marts.threat_indicators
                                  where source = 'ctid_mappings_explorer'""").fetchall()
    assert ctid_versions == [("16.1",)]  # written against 16.1, carried onto 18.1
    api = db.execute("""select count(*) from marts.threat_indicators where indicator_type = 'api_call'
                        and indicator_value !~ '^[a-z0-9-]+\\.amazonaws\\.com:[A-Z][A-Za-z0-9]+$'""").fetchone()[0]
    assert api == 0
    seed_refs = db.execute("select count(*) from marts.threat_indicators where source = 'curated'").fetchone()[0]
    assert seed_refs > 0
    # Lambda's API-versioned names (TrailDiscover's UpdateFunctionCode20150331v2) are keyed by operation, as parsed
    versioned = db.execute(r"""select count(*) from intermediate.int_threat_indicators_unioned
                              where indicator_value ~ '^lambda\.amazonaws\.com:.*20[0-9]{6}'""").fetchone()[0]
    assert versioned == 0


def test_stratus_indicators_are_the_detonated_attack_cut_to_attack_ids(loaded, db):
    """20 (event, technique) pairs: the techniques with a catalog id and a detonation log, set-up calls
    (AssumeRole, GetCallerIdentity, and the SSM calls that stage both credential theft and command execution) left
    out; T1496.A008 / T1078.A001 / T1666.A002 read as T1496 / T1078 / T1666."""
    rows = db.execute("""select indicator_value, technique_id from intermediate.int_threat_indicators_unioned
                         where source = 'stratus_red_team'""").fetchall()
    assert len(rows) == 20
    assert ("organizations.amazonaws.com:LeaveOrganization", "T1666") in rows
    assert ("signin.amazonaws.com:ConsoleLogin", "T1078") in rows
    assert not any(v.startswith(("sts.amazonaws.com:AssumeRole", "sts.amazonaws.com:GetCallerIdentity",
                                 "ssm.amazonaws.com:")) for v, _ in rows)


def test_the_demo_loads_every_shared_version_so_ctid_is_carried(tmp_path):
    """CTID's AWS file is written against 16.1: the demo loads 16.1 and 17.1 beside 18.1 (oldest first, so the
    first load still activates 18.1), else CTID's indicators stay in review_state_unmapped."""
    attack = tmp_path / "attack"
    attack.mkdir()
    for v in ("18.1", "16.1", "17.1", "9.0"):
        (attack / f"enterprise-attack-{v}.json.gz").write_bytes(b"")
    (attack / "enterprise-attack-19.0.json.gz").write_bytes(b"")  # newer than the pinned release: not loaded
    cfg = settings.Settings(home=tmp_path, database_url=None, pg_port=None, attack_source=None,
                            knowledge_source=None, shared_dir=tmp_path)
    names = [Path(p).name for p in sources.local_attack_sources(cfg, every_version=True)]
    assert names == [f"enterprise-attack-{v}.json.gz" for v in ("9.0", "16.1", "17.1", "18.1")]
    assert [Path(p).name for p in sources.local_attack_sources(cfg)] == ["enterprise-attack-18.1.json.gz"]


def test_by_default_the_releases_the_knowledge_names_are_loaded_too(tmp_path, monkeypatch):
    """With DCV_ATTACK_SOURCE unset the attack asset fetches the pinned release and, before it, every older
    release a knowledge source is written against (the version in CTID's file name), so CTID is carried."""
    fetched = []
    monkeypatch.setattr(sources, "pinned_bundle", lambda cfg, version=sources.PINNED_VERSION: fetched.append(
        version) or f"/cache/{version}.json")

    def cfg(knowledge):
        return settings.Settings(home=tmp_path, database_url=None, pg_port=None, attack_source=None,
                                 knowledge_source=knowledge, shared_dir=tmp_path)

    ctid = "x/aws-12.12.2024_attack-16.1-enterprise.json,y/gcp-03.06.2025_attack-16.1-enterprise.json"
    assert sources.attack_sources(cfg(ctid)) == ["/cache/16.1.json", "/cache/18.1.json"]
    assert sources.attack_sources(cfg("z/aws_attack-18.1.json,w/custom.json")) == ["/cache/18.1.json"]
    # the shared CTID file is used when DCV_KNOWLEDGE_SOURCE is unset; with none there, its official URL
    assert sources.attack_sources(cfg(None)) == ["/cache/16.1.json", "/cache/18.1.json"]
    explicit = settings.Settings(home=tmp_path, database_url=None, pg_port=None, attack_source="a.json,b.json",
                                 knowledge_source=ctid, shared_dir=tmp_path)
    assert sources.attack_sources(explicit) == ["a.json", "b.json"]
    assert fetched == ["16.1", "18.1", "18.1", "16.1", "18.1"]


def test_prevalence_counts_use_on_the_providers_platforms_and_cloud_incidents(loaded, db):
    """ATT&CK 18.1 + TrailDiscover: T1082 has 403 users, nearly all endpoint malware, and few on AWS; T1562.008
    has 2 users, one on AWS (Pacu; APT29's use names Microsoft 365, so it counts for Azure), and TrailDiscover's
    incidents; the all-platform counts stay for BI."""
    rows = {r[0]: r[1:] for r in db.execute("""
        select p.attack_technique_id, p.total_count, p.cloud_use_count, p.cloud_incident_count
        from marts.technique_prevalence p
        join marts.mitre_versions v on v.id = p.version_id and v.is_active
        join marts.cloud_providers c on c.id = p.provider_id and c.name = 'aws'
        where p.attack_technique_id in ('T1082', 'T1562.008', 'T1078.004')""").fetchall()}
    assert rows["T1082"][0] == 403 and rows["T1082"][1] <= 2
    assert rows["T1562.008"][:2] == (2, 1) and rows["T1562.008"][2] > 0
    assert rows["T1078.004"][1] + rows["T1078.004"][2] > rows["T1082"][1] + rows["T1082"][2]
    evidence = db.execute("""select e.event_count, e.wild_event_count, e.incident_count, e.source, e.licence
                             from marts.technique_cloud_evidence e where e.attack_technique_id = 'T1562.008'""").fetchone()
    assert evidence[0] >= evidence[1] > 0 and evidence[2] > 0 and evidence[3:] == ("traildiscover", "CC BY 4.0")
    # a parent listed beside its sub-technique is no indicator of its own (StopLogging: T1562.001, T1562.008)
    stop = {r[0] for r in db.execute("""select attack_technique_id from marts.threat_indicators
                                        where source = 'traildiscover'
                                          and indicator_value = 'cloudtrail.amazonaws.com:StopLogging'""")}
    assert "T1562" not in stop and {"T1562.001", "T1562.008"} <= stop | {
        r[0] for r in db.execute("""select attack_technique_id from marts.threat_indicators
                                    where indicator_value = 'cloudtrail.amazonaws.com:StopLogging'""")}
