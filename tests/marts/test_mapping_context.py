"""Context the mapper checks (docs/mapping.md), on a real build with the curated seed and ATT&CK 18.1: who made the
call, and whether the detection sees failed calls, successful ones or both. A failed console sign-in is
password guessing (T1110); a successful one is a cloud account in use (T1078.004). And a rule author's declared
tags beside what inference found."""

import json
from datetime import UTC, date, datetime

import psycopg
import pytest

from dagster_project.lib import settings
from dagster_project.lib.detections.store import AccountScan
from dagster_project.lib.sources import rule_repos
from dagster_project.lib.warehouse import scratch

FILTERS = {
    "cis-console-auth-failures": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "console-sign-ins-succeeded": '{ ($.eventName = ConsoleLogin) && ($.responseElements.ConsoleLogin = "Success") }',
    "every-console-sign-in": "{ $.eventName = ConsoleLogin }",
    "cis-root-account-usage": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
                              '&& $.eventType != "AwsServiceEvent" }',
}
# AWS's own "monitor root user activity" rule: any event, by the root user
ROOT_ACTIVITY = {"detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail"],
                 "detail": {"userIdentity": {"type": ["Root"]}}}
# agents created by an IAM user or the root user: root is one case of two, not what the rule is about
AGENT_BY_USER_OR_ROOT = {"detail-type": ["AWS API Call via CloudTrail"],
                         "detail": {"eventSource": ["bedrock.amazonaws.com"], "eventName": ["CreateAgent"],
                                    "userIdentity": {"type": ["IAMUser", "Root"]}}}


def _sigma(native_id: str, tags: list[str], selection: dict) -> dict:
    return {"provider": "aws", "service": "sigma", "detection_type": "sigma_rule", "native_id": native_id,
            "name": native_id, "region": "", "account_id": "", "related": {"path": f"{native_id}.yml"},
            "api_object": {"title": native_id, "tags": tags, "logsource": {"product": "aws", "service": "cloudtrail"},
                           "detection": {"selection": selection, "condition": "selection"}}}


SIGMA = [
    # T1110 agrees with inference, T1098 does not (inference mapped the rule elsewhere)
    _sigma("sigma-failed-logins", ["attack.t1110", "attack.t1098"],
           {"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"}),
    # nothing inferred at all: the tag is all there is, and nothing disagrees with it
    _sigma("sigma-unknown-event", ["attack.t1530"], {"eventName": "NoSuchCallAnywhere"}),
]


def _record(native_id: str, detection_type: str, api_object: dict) -> dict:
    return {"provider": "aws", "service": "cloudwatch_logs" if detection_type == "metric_filter" else "eventbridge",
            "detection_type": detection_type, "native_id": native_id, "name": native_id, "region": "us-east-1",
            "api_object": api_object, "related": {"targets": [{"Id": "t", "Arn": "arn:aws:sns:us-east-1:1:t"}]}}


@pytest.fixture(scope="module")
def mapped(shared_dir, dbt_manifest, warehouse_url):
    """{native id: {technique: (confidence, rationale, method, inference disagrees)}} for every mapping."""
    scratch.load_attack(warehouse_url, settings.load())
    records = [_record(name, "metric_filter", {"filterName": name, "filterPattern": pattern,
                                                "metricTransformations": [{"metricName": name,
                                                                           "metricNamespace": "CIS"}]})
               for name, pattern in FILTERS.items()]
    for name, pattern in (("root-activity", ROOT_ACTIVITY), ("agent-by-user-or-root", AGENT_BY_USER_OR_ROOT)):
        records.append(_record(name, "event_rule", {"Name": name, "State": "ENABLED",
                                                    "EventPattern": json.dumps(pattern)}))
    now = datetime.now(UTC)
    scratch.map_scans(warehouse_url, date(2026, 3, 1), [AccountScan("aws", "111111111111", now, records, completed_at=now),
                                                       AccountScan("sigma", "", now, SIGMA, completed_at=now)],
                      declared_tags=rule_repos.declared_tags)
    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute("""
            select p.native_id, m.attack_technique_id, m.confidence_score::float, m.rationale, m.mapping_method,
                   m.inference_disagrees
            from raw.detection_presence as p
            inner join marts.content_technique_mappings as m on p.content_hash = m.content_hash""").fetchall()
    out: dict[str, dict[str, tuple]] = {}
    for native_id, technique, *row in rows:
        out.setdefault(native_id, {})[technique] = tuple(row)
    return out


def _counted(mapped, name):
    """Techniques inference says the detection counts for (coverage_min_confidence 0.6)."""
    return {t for t, (confidence, _, method, _) in mapped[name].items()
            if confidence >= 0.6 and method != "declared"}


def test_failed_sign_ins_are_guessing_not_an_account_in_use(mapped):
    failures = mapped["cis-console-auth-failures"]
    assert "T1110" in _counted(mapped, "cis-console-auth-failures")
    assert "CUR-008" in failures["T1110"][1]
    assert "T1078.004" not in failures  # not even below the threshold: the indicator does not apply


def test_successful_sign_ins_are_an_account_in_use_not_guessing(mapped):
    assert "T1078.004" in _counted(mapped, "console-sign-ins-succeeded")
    assert "T1110" not in mapped["console-sign-ins-succeeded"]


def test_a_rule_on_every_sign_in_counts_for_account_use_only(mapped):
    """It sees both outcomes: each outcome's indicator counts 0.85x, so the strong one still counts and the
    guessing claim (which needs failures singled out) does not."""
    every = mapped["every-console-sign-in"]
    assert every["T1078.004"][0] < mapped["console-sign-ins-succeeded"]["T1078.004"][0]
    assert "T1078.004" in _counted(mapped, "every-console-sign-in")
    assert "T1110" not in _counted(mapped, "every-console-sign-in")


@pytest.mark.parametrize("name", ["cis-root-account-usage", "root-activity"])
def test_root_use_is_a_privileged_cloud_account_in_any_form(mapped, name):
    assert "T1078.004" in _counted(mapped, name)
    assert "condition:userIdentity.type=Root ~ curated CUR-457" in mapped[name]["T1078.004"][1]


@pytest.mark.parametrize("name", ["cis-root-account-usage", "root-activity"])
def test_root_use_is_also_the_default_account_t1078_001(mapped, name):
    """ATT&CK 18.1's T1078.001 (Default Accounts) names 'the root user account in AWS': root credentials in use
    are T1078.004 and T1078.001 alike."""
    assert "T1078.001" in _counted(mapped, name)
    assert "curated CUR-458" in mapped[name]["T1078.001"][1] or "curated CUR-459" in mapped[name]["T1078.001"][1]


def test_root_as_one_of_several_identities_is_listed_not_counted(mapped):
    """A rule that accepts IAM users or root fires on root use, but is not about it: the root indicator is kept
    with its evidence, at half strength, below the coverage threshold."""
    confidence, rationale, method, _ = mapped["agent-by-user-or-root"]["T1078.004"]
    assert method == "pattern_match" and confidence < 0.6
    assert "condition:userIdentity.type=Root (one of several values) ~ curated CUR-457" in rationale
    assert "T1078.004" not in _counted(mapped, "agent-by-user-or-root")


def test_declared_tags_beside_inference(mapped):
    """A tag inference supports is reported as inferred, with its evidence; one it does not support, on a rule it
    did map, disagrees (and becomes disputed); on a rule nothing was inferred for, it is all there is."""
    failed = mapped["sigma-failed-logins"]
    assert failed["T1110"][2] == "pattern_match" and "CUR-008" in failed["T1110"][1]
    assert failed["T1098"][2:] == ("declared", True)
    assert mapped["sigma-unknown-event"] == {"T1530": (0.7, "declared by the rule author: attack.t1530", "declared",
                                                       False)}
