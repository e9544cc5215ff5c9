"""The matchers on real attack records: Stratus Red Team's detonation logs (CloudTrail records per technique)."""

from __future__ import annotations

import json

import pytest

from dagster_project.lib.replay.event_pattern_match import (
    compile_event_pattern,
    eventbridge_envelope,
    record_keys,
)
from dagster_project.lib.replay.filter_pattern_match import compile_filter_pattern

# CIS AWS Foundations Benchmark metric filters, verbatim
CIS_NO_MFA = ('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
              '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }')
CIS_CLOUDTRAIL = ("{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) "
                  "|| ($.eventName = StartLogging) || ($.eventName = StopLogging) }")
CIS_UNAUTHORIZED = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'

LOGIN_WITHOUT_MFA = {"source": ["aws.signin"], "detail-type": ["AWS Console Sign In via CloudTrail"],
                     "detail": {"eventName": ["ConsoleLogin"],
                                "additionalEventData": {"MFAUsed": [{"anything-but": "Yes"}]}}}
STOP_LOGGING = {"source": ["aws.cloudtrail"], "detail-type": ["AWS API Call via CloudTrail"],
                "detail": {"eventSource": ["cloudtrail.amazonaws.com"], "eventName": ["StopLogging", "DeleteTrail"]}}
# A common mistake: console sign-ins do not arrive as "AWS API Call via CloudTrail"
LOGIN_AS_API_CALL = {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventName": ["ConsoleLogin"]}}
ADMIN_POLICY = {"source": ["aws.iam"], "detail": {"eventName": [{"prefix": "Attach"}],
                                                  "requestParameters": {"policyArn": [{"suffix": "/AdministratorAccess"}]}}}


@pytest.fixture(scope="module")
def techniques(shared_dir) -> dict[str, list[dict]]:
    folder = shared_dir / "stratus-red-team" / "docs" / "detonation-logs"
    if not folder.is_dir():
        pytest.skip(f"Stratus Red Team detonation logs not found at {folder}")
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _fired(techniques, matches) -> set[str]:
    return {name for name, records in techniques.items() if any(matches(r) for r in records)}


@pytest.mark.parametrize(("pattern", "expected"), [
    (CIS_NO_MFA, {"aws.initial-access.console-login-without-mfa"}),
    (CIS_CLOUDTRAIL, {"aws.defense-evasion.cloudtrail-stop", "aws.defense-evasion.cloudtrail-delete"}),
])
def test_cis_filters_fire_on_their_techniques_only(techniques, pattern, expected):
    matcher = compile_filter_pattern(pattern)
    assert _fired(techniques, matcher.matches) == expected


def test_unauthorized_calls_filter_sees_denied_attack_steps(techniques):
    fired = _fired(techniques, compile_filter_pattern(CIS_UNAUTHORIZED).matches)
    assert "aws.credential-access.ec2-get-password-data" in fired  # Client.UnauthorizedOperation, 31 times
    assert "aws.initial-access.console-login-without-mfa" not in fired


@pytest.mark.parametrize(("pattern", "expected"), [
    (LOGIN_WITHOUT_MFA, {"aws.initial-access.console-login-without-mfa"}),
    (STOP_LOGGING, {"aws.defense-evasion.cloudtrail-stop", "aws.defense-evasion.cloudtrail-delete"}),
    (LOGIN_AS_API_CALL, set()),
    (ADMIN_POLICY, {"aws.persistence.iam-create-admin-user", "aws.persistence.iam-create-backdoor-role"}),
])
def test_event_rules_fire_on_their_techniques_only(techniques, pattern, expected):
    matcher = compile_event_pattern(pattern)
    assert _fired(techniques, lambda r: matcher.matches(eventbridge_envelope(r))) == expected


def test_candidate_keys_hold_on_real_records(techniques):
    records = [r for rs in techniques.values() for r in rs]
    tests = [(m, m.matches) for m in map(compile_filter_pattern, (CIS_NO_MFA, CIS_CLOUDTRAIL, CIS_UNAUTHORIZED))]
    tests += [(m, lambda r, m=m: m.matches(eventbridge_envelope(r)))
              for m in map(compile_event_pattern, (LOGIN_WITHOUT_MFA, STOP_LOGGING, ADMIN_POLICY))]
    hits = 0
    for matcher, fires in tests:
        for r in records:
            if fires(r):
                hits += 1
                assert set(record_keys(r["eventSource"], r["eventName"])) & matcher.candidate_keys
    assert hits > 20
