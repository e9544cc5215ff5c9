"""Stratus Red Team and TrailDiscover knowledge through dbt (fixtures, ATT&CK 18.1, the curated seed): Stratus
indicators without the detonation harness, the CloudTrail event catalog (every event a source names, read-only
flag, techniques or the reason for none), which sources speak for each event's techniques, and a knowledge source
switched off for make eval."""

import dataclasses
import json
import shutil
from pathlib import Path

import psycopg
import pytest

from dagster_project.lib import settings
from dagster_project.lib.warehouse import scratch

FIXTURES = Path(__file__).parent.parent / "fixtures"


# a TrailDiscover-style guess for an event a curated rule (NAI-007, agent authoring) leaves out knowingly
GUESSED_EVENT = {"eventName": "CreateAgent", "eventSource": "bedrock.amazonaws.com", "awsService": "Bedrock",
                 "description": "Fixture: an agent is created.", "mitreAttackTactics": ["TA0003 - Persistence"],
                 "mitreAttackTechniques": ["T1098 - Account Manipulation"], "mitreAttackSubTechniques": [],
                 "unverifiedMitreAttackTechniques": [], "usedInWild": False, "incidents": []}


@pytest.fixture(scope="module")
def built(shared_dir, dbt_manifest, warehouse_url, tmp_path_factory):
    traildiscover = tmp_path_factory.mktemp("knowledge") / "traildiscover"
    shutil.copytree(FIXTURES / "traildiscover", traildiscover)
    (traildiscover / "events" / "Bedrock").mkdir()
    (traildiscover / "events" / "Bedrock" / "CreateAgent.json").write_text(json.dumps(GUESSED_EVENT), encoding="utf-8")
    cfg = dataclasses.replace(settings.load(), knowledge_source=f"{traildiscover},{FIXTURES / 'stratus-red-team'}")
    scratch.load_attack(warehouse_url, cfg)
    scratch.dbt(warehouse_url, "seed", "--quiet")
    scratch.dbt(warehouse_url, "build", "--quiet", "--select", "+cloudtrail_event_catalog", "+threat_indicators")
    return warehouse_url


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_stratus_indicators_are_the_attack_not_its_harness(built):
    events = {(name, technique): setup for name, technique, setup in _rows(built, """
        select event_name, technique_id, is_setup from intermediate.int_stratus_event_techniques""")}
    # AssumeRole precedes both fixture techniques, which share no tactic: set-up, not the technique
    assert events[("AssumeRole", "T1562.008")] and events[("AssumeRole", "T1136.003")]
    assert not events[("CreateUser", "T1136.003")] and not events[("StopLogging", "T1562.008")]
    indicators = dict(_rows(built, """
        select indicator_value || ' ' || technique_id, source_ref from intermediate.int_threat_indicators_unioned
        where source = 'stratus_red_team'"""))
    assert "iam.amazonaws.com:CreateUser T1136.003" in indicators
    assert indicators["iam.amazonaws.com:CreateUser T1136.003"] == (
        "aws.persistence.iam-create-admin-user docs/detonation-logs/aws.persistence.iam-create-admin-user.json")
    assert "lambda.amazonaws.com:UpdateFunctionCode T1136.003" in indicators  # Lambda names keyed by operation
    assert not any(k.startswith("sts.amazonaws.com:AssumeRole") for k in indicators)
    # the catalog id T1485.A003 is cut to T1485, but the technique has no detonation log: no indicator
    assert _rows(built, "select technique_ids from staging.stg_attack__stratus_techniques where stratus_id like "
                        "'%ransomware%'") == [(["T1485"],)]
    assert not any(k.endswith(" T1485") for k in indicators)


def test_the_catalog_names_every_sourced_event_with_its_techniques_or_a_reason(built):
    catalog = {(source, name): row for source, name, *row in _rows(built, """
        select event_source, event_name, service, read_only, read_only_basis, known_from, technique_ids, status,
               no_technique_reason, reason_ref
        from marts.cloudtrail_event_catalog""")}
    stop = catalog[("cloudtrail.amazonaws.com", "StopLogging")]
    assert stop[:3] == ["cloudtrail", False, "cloudtrail_record"]
    assert {"curated", "stratus_red_team", "traildiscover"} <= set(stop[3]) and "T1562.008" in stop[4]
    assert stop[5:] == ["mapped", None, None]
    assert catalog[("sts.amazonaws.com", "AssumeRole")][1:3] == [True, "cloudtrail_record"]  # the record says
    assert catalog[("ec2.amazonaws.com", "DescribeInstances")][1:3] == [True, "operation_verb"]
    # every event without a technique says why
    assert all(row[6] for row in catalog.values() if row[5] != "mapped")
    statuses = {row[5] for row in catalog.values()}
    assert {"mapped", "below_threshold"} <= statuses
    # a curated "no attack interest" rule gives its reason and ref, on an event nothing maps at the threshold
    rule = [(key, row) for key, row in catalog.items() if row[5] == "no_attack_interest"]
    assert all(row[7].startswith("NAI-") and row[6] for _, row in rule)


def test_an_interest_rule_outranks_weaker_guesses_but_never_our_own_indicators(built):
    catalog = {(source, name): row for source, name, *row in _rows(built, """
        select event_source, event_name, known_from, technique_ids, candidate_technique_ids, status, reason_ref
        from marts.cloudtrail_event_catalog""")}
    # TrailDiscover guesses T1098 (0.40, below the threshold); the curated rule's judgment is the status, the
    # guess stays visible
    known_from, techniques, candidates, status, reason_ref = catalog[("bedrock.amazonaws.com", "CreateAgent")]
    assert (techniques, candidates, status, reason_ref) == ([], ["T1098"], "no_attack_interest", "NAI-007")
    # no rule matches an event a curated indicator names: the two would contradict each other
    contradicted = sorted(f"{key[0]}:{key[1]} {row[4]}" for key, row in catalog.items()
                          if row[3] == "no_attack_interest" and "curated" in row[0])
    assert contradicted == []
    # and an event mapped at the threshold is never given a rule's reason
    assert all(row[4] is None for row in catalog.values() if row[3] == "mapped")


def test_sources_and_their_agreement_per_event(built):
    rows = {technique: (sources, count, agreement) for technique, sources, count, agreement in _rows(built, """
        select attack_technique_id, sources, source_count, agreement from marts.cloudtrail_event_technique_sources
        where event_source = 'cloudtrail.amazonaws.com' and event_name = 'StopLogging'""")}
    sources, count, agreement = rows["T1562.008"]
    assert {"curated", "stratus_red_team", "traildiscover"} <= set(sources) and count == len(sources)
    assert agreement in ("unanimous", "shared")
    # TrailDiscover alone names T1562.001 for it among several sources: disputed
    assert rows["T1562.001"][2] in ("disputed", "shared")
    assert all(a != "sole_source" for _, _, a in rows.values())


def test_a_knowledge_source_switched_off_leaves_no_indicator(built):
    def by_source(relation: str = "intermediate.int_threat_indicators_unioned") -> dict[str, int]:
        return dict(_rows(built, f"select source, count(*) from {relation} group by source"))

    assert by_source().get("stratus_red_team") and by_source().get("traildiscover")
    try:
        scratch.dbt(built, "run", "--quiet", "--select", "int_threat_indicators_unioned", "threat_indicators",
                    "--vars", json.dumps({"knowledge_sources_off": ["stratus_red_team", "traildiscover"]}))
        assert "stratus_red_team" not in by_source() and "traildiscover" not in by_source()
        assert "stratus_red_team" not in by_source("marts.threat_indicators") and by_source().get("curated")
    finally:
        scratch.dbt(built, "run", "--quiet", "--select", "int_threat_indicators_unioned", "threat_indicators")
    assert by_source().get("stratus_red_team")
