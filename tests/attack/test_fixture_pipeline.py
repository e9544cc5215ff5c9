"""The small self-written bundles through Dagster and dbt: every change kind, remap, bad input, activation."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs.attack.assets import attack_bundles
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.attack import store
from dagster_project.lib.warehouse import scratch

FIXTURES = Path(__file__).parents[1] / "fixtures" / "attack"
V1, V2 = FIXTURES / "fixture-attack-1.0.json", FIXTURES / "fixture-attack-2.0.json"


def materialize(instance, source: str):
    os.environ["DCV_ATTACK_SOURCE"] = source
    try:
        return dg.materialize([attack_bundles], instance=instance, resources={"warehouse": WarehouseResource()},
                              raise_on_error=False)
    finally:
        os.environ.pop("DCV_ATTACK_SOURCE", None)


def dbt_build(*select: str) -> None:
    scratch.dbt(os.environ["DCV_WAREHOUSE_URL"], "build", "--quiet",  # the module's warehouse (conftest)
                "-s", *(select or ("+path:models/marts/attack", "path:seeds/knowledge")))


@pytest.fixture(scope="module")
def built(warehouse_url, dagster_instance):
    import psycopg

    result = materialize(dagster_instance, f"{V1},{V2}")
    assert result.success
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        # review state recorded against 1.0, one row per remap outcome
        conn.execute("""insert into app.gap_triage (account_id, technique_id, attack_version, status) values
            ('111', 'T1005.001', '1.0', 'acknowledged'), ('111', 'T1004', '1.0', 'open'),
            ('111', 'T1562', '1.0', 'accepted_risk'), ('111', 'T9999', '1.0', 'open'),
            ('111', 'T1001', '0.9', 'open')""")
    dbt_build()
    return result


def test_first_load_activates_newest_and_records_metadata(built, db):
    assert store.active_version(db) == "2.0"
    metadata = built.asset_materializations_for_node("attack_bundles")[0].metadata
    assert metadata["versions"].value == ["1.0", "2.0"]


def test_reload_changes_nothing(built, dagster_instance, db):
    before = db.execute("select attack_version, sha256, loaded_at from raw.attack_bundles order by 1").fetchall()
    result = materialize(dagster_instance, f"{V1},{V2}")
    assert result.success
    loads = result.asset_materializations_for_node("attack_bundles")[0].metadata["loads"].value
    assert {x["status"] for x in loads} == {"unchanged"}
    assert db.execute("select attack_version, sha256, loaded_at from raw.attack_bundles order by 1").fetchall() == before


def test_every_change_kind(built, db):
    rows = db.execute("""select object_type, change_kind, external_id, coalesce(new_external_id, '')
                         from marts.mitre_version_diff where from_version = '1.0' and to_version = '2.0'""").fetchall()
    changes = {(t, k, a, b) for t, k, a, b in rows}
    expected = {
        ("technique", "renamed", "T1001", "T1001"),
        ("technique", "moved_tactic", "T1002", "T1002"),
        ("technique", "deprecated", "T1003", "T1003"),
        ("technique", "removed", "T1004", ""),
        ("technique", "revoked", "T1005.001", "T1005.002"),
        ("technique", "promoted", "T1006.001", "T1010"),
        ("technique", "demoted", "T1007", "T1001.001"),
        ("technique", "reidentified", "T1562", "T1685"),
        ("technique", "moved_tactic", "T1562", "T1685"),
        ("technique", "revoked", "T1564", "T1686"),
        ("technique", "added", "T1008", "T1008"),
        ("tactic", "added", "TA0112", "TA0112"),
        ("tactic", "deprecated", "TA0005", "TA0005"),
        ("tactic", "split", "TA0005", ""),
    }
    assert expected <= changes, expected - changes
    split = db.execute("""select tactics_after from marts.mitre_version_diff
                          where change_kind = 'split' and from_version = '1.0'""").fetchone()[0]
    assert split == ["TA0112", "TA0113"]


def test_review_state_carried_or_listed_with_reason(built, db):
    rows = dict(db.execute("""select recorded_technique_id, coalesce(technique_id, reason)
                              from marts.review_state_remapped where item_source = 'gap_triage'""").fetchall())
    assert rows["T1005.001"] == "T1005.002"
    assert rows["T1562"] == "T1685"
    assert "removed" in rows["T1004"]
    assert "does not exist" in rows["T9999"]
    assert "not loaded" in rows["T1001"]
    unmapped = db.execute("select count(*) from marts.review_state_unmapped where item_source = 'gap_triage'")
    assert unmapped.fetchone()[0] == 3


def test_single_active_version_enforced(built, db):
    import psycopg

    dbt_build("mitre_versions")  # a rebuild keeps the index (dbt-core#1945 dropped it)
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("update marts.mitre_versions set is_active = true")


def test_bad_input_is_quarantined_and_keeps_active_version(built, dagster_instance, db, tmp_path):
    """A bad bundle beside good ones: quarantined and named, the good ones load, the step succeeds so everything
    downstream still updates, and the active version stays."""
    bad = tmp_path / "broken-3.0.json.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    result = materialize(dagster_instance, f"{V1},{bad}")
    assert result.success
    metadata = result.asset_materializations_for_node("attack_bundles")[0].metadata
    assert metadata["versions"].value == ["1.0"]
    assert [str(bad) in r and "gzip" in r for r in metadata["rejected_sources"].value] == [True]
    reason = db.execute("select object_ref, reason from raw.quarantine where source = 'attack_bundle'").fetchone()
    assert str(bad) in reason[0] and "gzip" in reason[1]
    assert store.active_version(db) == "2.0"
    assert store.loaded_versions(db) == ["1.0", "2.0"]
    assert db.execute("select count(*) from marts.mitre_techniques").fetchone()[0] > 0


def test_activate_is_explicit(built, db):
    assert store.activate(db, "1.0") == "2.0"
    assert store.active_version(db) == "1.0"
    with pytest.raises(ValueError, match="not loaded"):
        store.activate(db, "7.0")
    store.activate(db, "2.0")
    log = db.execute("select attack_version, previous_version from app.attack_activation_log order by id").fetchall()
    assert log[-2:] == [("1.0", "2.0"), ("2.0", "1.0")]


def test_fixture_is_reproducible():
    before = {p: json.loads(p.read_text()) for p in (V1, V2)}
    subprocess.run([sys.executable, str(FIXTURES / "make_bundles.py")], check=True)
    assert {p: json.loads(p.read_text()) for p in (V1, V2)} == before
