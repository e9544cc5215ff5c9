"""EventBridge rule patterns -> signals."""

import json

import pytest

from dagster_project.lib.parsing import parse


def _rule(pattern, targets=("arn:aws:sns:us-east-1:111111111111:alerts",), state="ENABLED"):
    raw = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return parse("event_rule", {"api_object": {"Name": "r", "EventPattern": raw, "State": state},
                                "related": {"targets": [{"Id": "1", "Arn": a} for a in targets]}})


def _signals(logic):
    return {(s.signal_type, s.value, s.qualifier) for s in logic.signals}


def test_cloudtrail_api_call_rule():
    logic = _rule({"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
                   "detail": {"eventSource": ["iam.amazonaws.com"],
                              "eventName": ["CreateAccessKey", "CreateLoginProfile"]}})
    assert _signals(logic) == {("api_call", "iam.amazonaws.com:CreateAccessKey", "exact"),
                               ("api_call", "iam.amazonaws.com:CreateLoginProfile", "exact")}
    assert logic.parse_confidence == 0.9 and logic.reason is None
    assert logic.actions == ["arn:aws:sns:us-east-1:111111111111:alerts"]


def test_source_alone_gives_event_source():
    logic = _rule({"source": ["aws.cloudtrail"], "detail": {"eventName": ["StopLogging"]}})
    assert ("api_call", "cloudtrail.amazonaws.com:StopLogging", "exact") in _signals(logic)


def test_prefix_and_wildcard_names():
    logic = _rule({"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
                   "detail": {"eventName": [{"prefix": "Delete"}, {"wildcard": "Put*"}]}})
    assert _signals(logic) == {("api_call", "iam.amazonaws.com:Delete", "prefix"),
                               ("api_call", "iam.amazonaws.com:Put", "prefix")}
    assert logic.parse_confidence == 0.6


def test_anything_but_is_low_confidence_and_no_api_call():
    logic = _rule({"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"],
                   "detail": {"eventName": [{"anything-but": ["GetObject", "HeadObject"]}]}})
    assert ("service", "s3.amazonaws.com", "exact") in _signals(logic)
    assert not any(s.signal_type == "api_call" for s in logic.signals)
    assert logic.parse_confidence <= 0.4 and "anything-but" in logic.reason


def test_whole_service_rule_is_a_service_signal():
    logic = _rule({"source": ["aws.kms"], "detail-type": ["AWS API Call via CloudTrail"]})
    assert _signals(logic) == {("service", "kms.amazonaws.com", "exact")}


def test_conditions_from_other_detail_fields():
    logic = _rule({"detail-type": ["AWS Console Sign In via CloudTrail"],
                   "detail": {"eventName": ["ConsoleLogin"], "userIdentity": {"type": ["Root"]},
                              "additionalEventData": {"MFAUsed": [{"anything-but": "Yes"}]},
                              "errorCode": [{"exists": False}]}})
    signals = _signals(logic)
    assert ("api_call", "signin.amazonaws.com:ConsoleLogin", "exact") in signals
    assert {("condition", "userIdentity.type=Root", "exact"), ("condition", "additionalEventData.MFAUsed!=Yes", "exact"),
            ("condition", "errorCode NOT EXISTS", "exact")} <= signals


def test_guardduty_finding_rule():
    logic = _rule({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
                   "detail": {"type": ["UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                                       {"prefix": "CryptoCurrency:EC2/"}, {"wildcard": "Recon:*"}],
                              "severity": [{"numeric": [">=", 7]}]}})
    assert {("finding_type", "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "exact"),
            ("finding_type", "CryptoCurrency:EC2/", "prefix"), ("finding_type", "Recon:", "prefix")} == {
        s for s in _signals(logic) if s[0] == "finding_type"}


def test_all_guardduty_findings_is_a_service_signal():
    logic = _rule({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]})
    assert ("service", "guardduty.amazonaws.com", "exact") in _signals(logic)


def test_security_hub_and_config_rules():
    hub = _rule({"source": ["aws.securityhub"], "detail-type": ["Security Hub Findings - Imported"],
                 "detail": {"findings": {"Compliance": {"SecurityControlId": ["IAM.6"]}}}})
    assert ("control", "IAM.6", "exact") in _signals(hub)
    config = _rule({"source": ["aws.config"], "detail-type": ["Config Rules Compliance Change"],
                    "detail": {"configRuleName": ["root-account-mfa-enabled"],
                               "newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}}})
    assert ("config_rule", "ROOT_ACCOUNT_MFA_ENABLED", "exact") in _signals(config)
    assert ("condition", "newEvaluationResult.complianceType=NON_COMPLIANT", "exact") in _signals(config)


def test_or_branches_are_unioned():
    logic = _rule({"source": ["aws.ec2"], "$or": [{"detail": {"eventName": ["RunInstances"]}},
                                                  {"detail": {"eventName": ["StopInstances"]}}]})
    assert {s[1] for s in _signals(logic)} == {"ec2.amazonaws.com:RunInstances", "ec2.amazonaws.com:StopInstances"}


def test_rule_without_targets_is_parsed_with_a_note():
    logic = _rule({"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}}, targets=())
    assert logic.parse_confidence == 0.9 and "no targets" in logic.reason and logic.actions == []


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', ""])
def test_invalid_pattern_is_low_confidence_never_an_exception(raw):
    logic = _rule(raw)
    assert logic.parse_confidence == 0.0 and logic.reason
