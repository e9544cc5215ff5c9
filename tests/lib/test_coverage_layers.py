"""Navigator layers that do not mislead (docs/coverage-semantics.md "Navigator layers"): every in-scope technique
scored (0 when not covered), a parent never shown as covered through one sub-technique, the organization divided
by every account in scope, detections named as people name them, no evidence below the coverage threshold, and
open gaps by risk. Each layer is read back by mitreattack-python's Layer(strict=True)."""

import contextlib
import io
import json
import os
import re
import warnings
from datetime import date

import psycopg
import pytest

from dagster_project.lib import settings
from dagster_project.lib.exports.coverage_layers import (
    Cell,
    Coverage,
    Evidence,
    Replayed,
    build_layers,
    read_coverage,
    write_layers,
)

ACCOUNTS = {f"{i}" * 12: f"acct-{i}" for i in range(1, 6)}  # 111111111111 .. 555555555555
PLATFORMS = {t: ("IaaS",) for t in ("T1021", "T1021.007", "T1021.008", "T1078", "T1078.001", "T1078.004",
                                     "T1098", "T1530")}


def strict(layer: dict) -> dict:
    """The layer as mitreattack-python reads it in strict mode (raises or comes back empty when invalid)."""
    from mitreattack.navlayers import Layer

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        parsed = Layer(strict=True)
        parsed.from_dict(json.loads(json.dumps(layer)))
        again = parsed.to_dict()
    assert again and again["versions"]["layer"] == "4.5"
    assert len(again["techniques"]) == len(layer["techniques"])
    return again


def _gap(account, technique, score=0.0, risk=30.0, severity="medium", status="open"):
    return Cell(account, technique, False, score, risk, severity, status)


def _covered(account, technique):
    return Cell(account, technique, True, 1.0)


@pytest.fixture
def org() -> Coverage:
    """Five accounts. T1021.008 covered in 2; T1078.004 covered in all 5 (T1078.001 in none, so T1078 is half
    covered everywhere and covered nowhere); T1098 covered nowhere; T1530 covered in all 5 through a GuardDuty
    detector; a mapping under the threshold is never evidence."""
    cells, evidence = [], []
    for n, account in enumerate(ACCOUNTS):
        cells.append(_covered(account, "T1021.008") if n < 2 else _gap(account, "T1021.008", risk=50 + n,
                                                                        severity="high"))
        cells.append(_gap(account, "T1021.007", risk=20.5))
        cells.append(_gap(account, "T1021", risk=40.0))
        cells.append(_covered(account, "T1078.004"))
        cells.append(_gap(account, "T1078.001", risk=60.0 + n, severity="high"))
        cells.append(_gap(account, "T1078", score=0.5, risk=35.0))
        cells.append(_gap(account, "T1098", risk=72.0 + n, severity="critical",
                          status="accepted_risk" if n == 4 else "open"))
        cells.append(_covered(account, "T1530"))
        evidence.append(Evidence(account, "T1078.004", ("cis-3.3-root-login",), 1, "ConsoleLogin by root"))
        evidence.append(Evidence(account, "T1530", (f"guardduty {account}/eu-west-1",), 1, "S3 data events"))
        if n < 2:  # validated by a person below the threshold: it counts
            evidence.append(Evidence(account, "T1021.008", ("ssm-session-start",), 1, "StartSession"))
    return Coverage("18.1", dict(ACCOUNTS), cells, evidence, PLATFORMS)


def _by_id(layer: dict) -> dict[str, dict]:
    return {t["techniqueID"]: t for t in strict(layer)["techniques"]}


def test_every_layer_is_a_strict_navigator_layer(org):
    layers = build_layers(org)
    assert sorted(layers) == [*(f"account-{a}.json" for a in sorted(ACCOUNTS)), "organization-gaps.json",
                              "organization.json"]
    for layer in layers.values():
        strict(layer)
        assert layer["filters"]["platforms"] == ["IaaS"]


def test_an_account_layer_scores_every_in_scope_technique_and_a_parent_only_partly(org):
    layer = _by_id(build_layers(org)["account-555555555555.json"])
    assert set(layer) == {"T1021", "T1021.007", "T1021.008", "T1078", "T1078.001", "T1078.004", "T1098", "T1530"}
    assert layer["T1098"]["score"] == 0 and "not covered" in layer["T1098"]["comment"]
    assert layer["T1021.008"]["score"] == 0
    assert "risk 76 (critical)" in layer["T1098"]["comment"] and "accepted_risk" in layer["T1098"]["comment"]
    parent = layer["T1078"]
    assert parent["score"] == 50 and parent["comment"].startswith("partly covered: 1 of 2 in-scope sub-techniques")
    assert parent["showSubtechniques"] is True  # its covered sub-technique is in sight
    assert {"name": "covered sub-technique", "value": "T1078.004"} in parent["metadata"]
    assert not [m for m in parent["metadata"] if m["name"] == "detection"]  # nothing detects T1078 itself
    assert layer["T1078.004"]["score"] == 100
    assert layer["T1021"]["showSubtechniques"] is False  # nothing under it is covered in this account


def test_evidence_names_detections_and_is_only_what_counts(org):
    layers = build_layers(org)
    first = _by_id(layers["account-111111111111.json"])
    assert [m["value"] for m in first["T1530"]["metadata"]] == ["guardduty 111111111111/eu-west-1"]
    assert first["T1530"]["comment"] == "covered by 1 detection: guardduty 111111111111/eu-west-1 (S3 data events)"
    assert [m["value"] for m in first["T1021.008"]["metadata"]] == ["ssm-session-start"]
    uncovered = _by_id(layers["account-555555555555.json"])["T1021.008"]
    assert uncovered["metadata"] == []


def test_many_detections_are_counted_and_the_first_named(org):
    org.evidence.append(Evidence("111111111111", "T1098", tuple(f"rule-{i}" for i in range(50)), 80, None))
    org.cells[:] = [c if (c.account, c.technique) != ("111111111111", "T1098") else _covered(c.account, c.technique)
                    for c in org.cells]
    t1098 = _by_id(build_layers(org)["account-111111111111.json"])["T1098"]
    assert t1098["comment"].startswith("covered by 80 detections: rule-0, rule-1, rule-2, ...")
    assert len([m for m in t1098["metadata"] if m["name"] == "detection"]) == 25
    assert {"name": "more", "value": "55 more detections"} in t1098["metadata"]


def test_sub_threshold_mappings_are_not_read_as_evidence():
    """The evidence query takes the dbt var: a pending mapping below it is filtered out in SQL."""
    from dagster_project.lib.exports import coverage_layers

    assert settings.coverage_min_confidence() == 0.6
    assert "m.confidence_score >= %(min_confidence)s" in coverage_layers.EVIDENCE
    assert "m.validation_status = 'validated' or" in coverage_layers.EVIDENCE


def test_the_organization_divides_by_every_account_in_scope(org):
    layer = _by_id(build_layers(org)["organization.json"])
    assert layer["T1021.008"]["score"] == 40 and layer["T1021.008"]["comment"] == "covered in 2 of 5 accounts"
    assert layer["T1098"]["score"] == 0 and layer["T1098"]["comment"] == "covered in 0 of 5 accounts"
    t1078 = layer["T1078"]
    assert t1078["score"] == 0  # covered nowhere: one covered sub-technique is not the parent
    assert t1078["comment"].startswith("covered in 0 of 5 accounts; partly")
    assert t1078["comment"].endswith("covered sub-techniques: T1078.004")
    assert t1078["showSubtechniques"] is True
    assert layer["T1078.004"]["score"] == 100 and layer["T1078.004"]["comment"] == "covered in 5 of 5 accounts"
    assert {"name": "covered in", "value": "acct-1 (111111111111)"} in layer["T1021.008"]["metadata"]


def test_replay_stands_beside_the_claim(org):
    """docs/replay.md: each account layer says what replay saw of a technique; organization-replay.json scores the
    share of accounts where a detection that alerts fires on a scenario of it."""
    first, fifth = "111111111111", "555555555555"
    org.replay.extend([
        Replayed(first, "T1078.004", "confirmed", True, True, 5, 2, ("cis-3.3-root-login",)),
        Replayed(fifth, "T1078.004", "not_confirmed", True, False, 5, 0),
        Replayed(fifth, "T1098", "fires_unclaimed", False, True, 3, 1, ("iam-changes",)),
    ])
    layers = build_layers(org)
    one, five = _by_id(layers["account-111111111111.json"]), _by_id(layers["account-555555555555.json"])
    assert one["T1078.004"]["comment"].endswith(
        "; replay: confirmed, fires on 2 of its 5 scenarios (cis-3.3-root-login)")
    assert {"name": "replay", "value": "not_confirmed"} in five["T1078.004"]["metadata"]
    assert "replay: not confirmed" in five["T1078.004"]["comment"] and five["T1078.004"]["score"] == 100
    assert "no counting detection is mapped to it" in five["T1098"]["comment"] and five["T1098"]["score"] == 0
    replay = _by_id(layers["organization-replay.json"])
    assert set(replay) == {"T1078", "T1078.004", "T1098"}  # the parent shown for its sub-technique
    assert replay["T1078.004"]["score"] == 20  # confirmed in 1 of the 5 accounts it is in scope for
    assert replay["T1078.004"]["comment"] == ("replay-confirmed in 1 of 5 accounts, claimed covered in 2; 5 "
                                             "scenarios; claimed but not confirmed in acct-5")
    assert replay["T1098"]["score"] == 20 and replay["T1078"].get("score") is None


def test_the_gaps_layer_scores_the_highest_open_risk(org):
    layer = strict(build_layers(org)["organization-gaps.json"])
    assert layer["gradient"]["minValue"] == 0 and layer["gradient"]["maxValue"] == 100
    assert [item["label"] for item in layer["legendItems"]][-1].startswith("critical")
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert "T1530" not in by_id and "T1078.004" not in by_id  # covered everywhere: no gap
    t1098 = by_id["T1098"]
    assert t1098["score"] == 75  # 76 was accepted by a person; the highest open one is 75
    assert t1098["comment"].startswith("highest risk 75 (critical); open in 4 of 5 accounts: acct-4 75, acct-3 74")
    assert "1 more triaged accepted_risk" in t1098["comment"]
    assert by_id["T1021.008"]["score"] == 54 and "open in 3 of 5 accounts" in by_id["T1021.008"]["comment"]
    assert by_id["T1078"]["showSubtechniques"] is True


def test_a_parent_out_of_scope_is_annotated_for_its_sub_techniques():
    coverage = Coverage("18.1", {"111111111111": "a"}, [_covered("111111111111", "T1078.004")], [],
                        {"T1078.004": ("IaaS",)})
    layer = _by_id(build_layers(coverage)["account-111111111111.json"])
    assert "score" not in layer["T1078"] and layer["T1078"]["showSubtechniques"] is True


# --- from a built warehouse ---------------------------------------------------------------------------------

DAY = date(2026, 3, 1)


@pytest.fixture(scope="module")
def built(shared_dir, dbt_manifest, warehouse_url, tmp_path_factory):
    from dagster_project.defs.detections.collect import export_scans
    from dagster_project.lib import sample_org, settings
    from dagster_project.lib.detections.store import store_partition
    from dagster_project.lib.parsing.store import parse_pending
    from dagster_project.lib.warehouse import scratch

    scratch.load_attack(warehouse_url, settings.load())
    scratch.dbt(warehouse_url, "seed", "--quiet")
    export_dir = tmp_path_factory.mktemp("export")
    sample_org.write_export(export_dir, accounts=3, detections_per_account=40, seed=11, day=DAY)
    with psycopg.connect(warehouse_url) as conn:
        store_partition(conn, DAY, export_scans(export_dir, []))
        parse_pending(conn)
    scratch.dbt(warehouse_url, "build", "--quiet", "--exclude", "resource_type:seed", "--exclude-resource-type",
                "unit_test", window=(DAY, DAY))
    out = tmp_path_factory.mktemp("layers")
    paths = write_layers(warehouse_url, out)
    return {p.name: json.loads(p.read_text()) for p in paths}


def test_written_layers_follow_the_marts(built, db):
    for layer in built.values():
        strict(layer)
    accounts = dict(db.execute("select account_identifier, id from marts.accounts").fetchall())
    assert sorted(built) == sorted([*(f"account-{a}.json" for a in accounts), "organization.json",
                                    "organization-gaps.json"])
    for account, account_id in accounts.items():
        in_scope = dict(db.execute(
            """select attack_technique_id, 100 * coverage_score from marts.coverage_history
               where account_id = %(a)s and is_covered and timestamp = %(day)s
               union all
               select attack_technique_id, 100 * coverage_score from marts.coverage_gaps
               where account_id = %(a)s and resolved_at is null""", {"a": account_id, "day": DAY}).fetchall())
        layer = {t["techniqueID"]: t for t in built[f"account-{account}.json"]["techniques"] if "score" in t}
        assert {t: s["score"] for t, s in layer.items()} == {t: float(s) for t, s in in_scope.items()}
        assert any(s == 0 for s in in_scope.values())  # uncovered in-scope techniques are on the layer, at 0
    org = {t["techniqueID"]: t for t in built["organization.json"]["techniques"] if "score" in t}
    for entry in org.values():
        covered, total = map(int, re.fullmatch(r"covered in (\d+) of (\d+) accounts.*", entry["comment"]).groups())
        assert total == len(accounts)  # every account in scope (one provider)
        assert entry["score"] == round(100 * covered / total, 1)


def test_written_evidence_is_what_counts_and_named(built, db):
    threshold = settings.coverage_min_confidence()
    below = db.execute(
        """select d.account_identifier, m.attack_technique_id, d.name from marts.detection_mappings as m
           join marts.detections as d on m.detection_id = d.id
           where d.is_current and d.status = 'enabled' and m.validation_status = 'pending'
             and m.confidence_score < %s""", (threshold,)).fetchall()
    assert below  # the sample organization has mappings under the threshold: the check below means something
    counting = db.execute(
        """select d.account_identifier, m.attack_technique_id, d.name from marts.detection_mappings as m
           join marts.detections as d on m.detection_id = d.id
           where d.is_current and d.status = 'enabled' and m.validation_status <> 'disputed'
             and (m.confidence_score >= %s or m.validation_status = 'validated')""", (threshold,)).fetchall()
    only_below = set(below) - set(counting)
    listed = set()
    for file, layer in built.items():
        if file.startswith("account-"):
            account = file.removeprefix("account-").removesuffix(".json")
            listed |= {(account, t["techniqueID"], m["value"]) for t in layer["techniques"]
                       for m in t["metadata"] if m["name"] == "detection"}
    assert listed and not (listed & only_below)
    names = {name for _, _, name in listed}
    assert not [n for n in names if re.fullmatch(r"[0-9a-f]{32}", n)]  # no GuardDuty detector by its hex id
    assert [n for n in names if re.fullmatch(r"guardduty \d{12}/[a-z0-9-]+", n)]


def test_written_evidence_agrees_with_the_marts_detection_counts(built, db):
    """The layer's count of detections on a covered sub-technique is coverage_history's: the evidence query and
    macros/counts_toward_coverage.sql count the same detections."""
    coverage = read_coverage(os.environ["DCV_WAREHOUSE_URL"])
    counts = {(found.account, found.technique): found.count for found in coverage.evidence}
    history = db.execute(
        """select a.account_identifier, h.attack_technique_id, h.detection_count
           from marts.coverage_history as h join marts.accounts as a on h.account_id = a.id
           where h.timestamp = %s and h.attack_technique_id like '%%.%%'""", (DAY,)).fetchall()
    assert history
    assert {(a, t): n for a, t, n in history} == {(a, t): counts.get((a, t), 0) for a, t, _ in history}
