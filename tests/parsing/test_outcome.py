"""The `outcome` signal: whether a configuration fires only on failed calls, only on successful ones, or on both,
read the same way from every query language (docs/mapping.md: a failed sign-in is guessing, a successful one an
account in use)."""

import json

import pytest

from dagster_project.lib.parsing import parse
from dagster_project.lib.parsing.conditions import condition_text, outcome, split_condition


def _outcome(detection_type: str, api_object: dict) -> str | None:
    logic = parse(detection_type, {"api_object": api_object, "related": {}})
    found = {s.value for s in logic.signals if s.signal_type == "outcome"}
    assert len(found) <= 1
    assert logic.trigger_conditions.get("outcome") == (next(iter(found)) if found else None)
    return next(iter(found), None)


def _filter(pattern: str) -> dict:
    return {"filterName": "f", "filterPattern": pattern,
            "metricTransformations": [{"metricName": "m", "metricNamespace": "CIS"}]}


def _event_rule(detail: dict) -> dict:
    pattern = {"detail-type": ["AWS Console Sign In via CloudTrail"], "detail": detail}
    return {"Name": "r", "State": "ENABLED", "EventPattern": json.dumps(pattern)}


def _sigma(selection: dict) -> dict:
    return {"logsource": {"product": "aws", "service": "cloudtrail"},
            "detection": {"selection": selection, "condition": "selection"}}


def _elastic(query: str) -> dict:
    return {"rule": {"type": "query", "language": "kuery", "query": query}}


@pytest.mark.parametrize(("detection_type", "api_object", "expected"), [
    # CIS 3.6 / 4.6: failed console sign-ins
    ("metric_filter", _filter('{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'),
     "failure"),
    ("metric_filter", _filter('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'),
     "failure"),
    ("metric_filter", _filter('{ $.eventName = ConsoleLogin }'), None),
    ("metric_filter", _filter('{ ($.eventName = ConsoleLogin) && ($.errorCode NOT EXISTS) }'), "success"),
    ("metric_filter", _filter('{ ($.eventName = DeleteTrail) && ($.errorCode != "AccessDenied") }'), None),
    ("logs_insights_query", {"queryString": "fields sourceIPAddress | filter eventName = 'ConsoleLogin' and "
                                            "errorMessage = 'Failed authentication' | stats count(*) by sourceIPAddress"},
     "failure"),
    ("event_rule", _event_rule({"eventName": ["ConsoleLogin"], "responseElements": {"ConsoleLogin": ["Failure"]}}),
     "failure"),
    ("event_rule", _event_rule({"eventName": ["ConsoleLogin"], "errorCode": [{"exists": False}]}), "success"),
    ("sigma_rule", _sigma({"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"}), "failure"),
    ("sigma_rule", _sigma({"eventName": "DeleteBucket", "errorCode": [None, "Success"]}), "success"),
    ("sigma_rule", _sigma({"eventName": "DeleteBucket", "errorCode|exists": False}), "success"),
    ("sigma_rule", _sigma({"eventName": "DeleteBucket", "errorCode|exists": True}), "failure"),
    ("elastic_rule", _elastic("event.action:ConsoleLogin and event.outcome:failure"), "failure"),
    ("elastic_rule", _elastic("event.action:ConsoleLogin and event.outcome:success"), "success"),
    # both outcomes, or a negated test: the rule sees both
    ("elastic_rule", _elastic("event.action:ConsoleLogin and event.outcome:(success or failure)"), None),
    ("elastic_rule", _elastic("event.action:ConsoleLogin and not event.outcome:failure"), None),
])
def test_outcome_is_read_alike_in_every_language(detection_type, api_object, expected):
    assert _outcome(detection_type, api_object) == expected


def test_a_rule_on_any_call_by_root_is_parsed_not_rejected():
    """AWS's root-activity EventBridge rule names no event, only who called: it is a detection, not a parse
    failure (which health would report as broken)."""
    logic = parse("event_rule", {"api_object": _event_rule({"userIdentity": {"type": ["Root"]}}),
                                 "related": {"targets": [{"Id": "t", "Arn": "arn:aws:sns:us-east-1:1:t"}]}})
    assert logic.parse_confidence > 0
    assert ("condition", "userIdentity.type=Root") in {(s.signal_type, s.value) for s in logic.signals}


@pytest.mark.parametrize(("field", "cmp", "value"), [
    ("userIdentity.type", "=", "Root"), ("errorCode", "!=", "AccessDenied"), ("errorMessage", "=", "a = b"),
    ("errorCode", "is null", None), ("userIdentity.invokedBy", "not exists", None),
    ("userAgent", " contains ", "S3 Browser"), ("additionalEventData.MFAUsed", "==", "No"),
])
def test_split_condition_reads_back_what_condition_text_writes(field, cmp, value):
    field_, cmp_, value_ = split_condition(condition_text(field, cmp, value))
    assert (field_, value_) == (field, value)
    assert cmp_ == {"==": "=", " contains ": "contains"}.get(cmp, cmp)


def test_outcome_needs_one_side():
    assert outcome(["errorCode=AccessDenied", "userIdentity.type=Root"]) == "failure"
    assert outcome(["errorCode IS NULL", "errorCode=Success"]) == "success"
    assert outcome(["event.outcome=success", "event.outcome=failure"]) is None
    assert outcome(["userIdentity.type=Root", "not a condition"]) is None


@pytest.mark.parametrize(("detection_type", "api_object"), [
    ("elastic_rule", _elastic('event.action: "CreateAgent" and aws.cloudtrail.user_identity.type: ("IAMUser" or "Root")')),
    ("event_rule", _event_rule({"userIdentity": {"type": ["IAMUser", "Root"]}})),
    ("sigma_rule", _sigma({"eventName": "CreateAgent", "userIdentity.type": ["IAMUser", "Root"]})),
])
def test_several_values_for_one_field_are_alternatives(detection_type, api_object):
    """A record's field holds one value, so two equality tests on it are OR-ed: each is `one_of`, and the root
    test no longer reads as a rule about the root user (docs/mapping.md)."""
    logic = parse(detection_type, {"api_object": api_object, "related": {}})
    conditions = {s.value: s.qualifier for s in logic.signals if s.signal_type == "condition"}
    assert conditions["userIdentity.type=Root"] == conditions["userIdentity.type=IAMUser"] == "one_of"


def test_one_value_and_other_fields_stay_exact():
    logic = parse("metric_filter", {"api_object": _filter('{ $.userIdentity.type = "Root" && $.errorCode = "x" '
                                                          '&& $.eventType != "AwsServiceEvent" }'), "related": {}})
    assert {s.qualifier for s in logic.signals if s.signal_type == "condition"} == {"exact"}
    # alternatives still tell the outcome: any of several error codes is a failure
    assert _outcome("event_rule", _event_rule({"errorCode": ["AccessDenied", "UnauthorizedOperation"]})) == "failure"
