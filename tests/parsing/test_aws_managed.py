"""GuardDuty detectors, Security Hub standards and controls, Config rules, metric alarms."""

import re

import pytest

from dagster_project.lib.parsing import parse
from dagster_project.lib.parsing.aws_findings import guardduty_knowledge

FINDING_VALUE = re.compile(r"^[A-Za-z]+:[A-Za-z0-9]+/([A-Za-z0-9.!-]+)?$")


def _signals(logic, signal_type=None):
    return {(s.signal_type, s.value, s.qualifier) for s in logic.signals
            if signal_type is None or s.signal_type == signal_type}


def test_guardduty_feature_yaml_is_well_formed():
    known = guardduty_knowledge()
    assert set(known) == {"features", "data_sources", "aliases"}
    for feature, values in known["features"].items():
        assert re.fullmatch(r"[A-Z0-9_]+", feature)
        assert values and len(values) == len(set(values)), feature
        for value in values:
            assert FINDING_VALUE.match(value), f"{feature}: {value!r}"
    for source, feature in known["data_sources"].items():
        assert feature in known["features"], source
    for alias, feature in known["aliases"].items():
        assert feature in known["features"], alias
    assert {"CLOUD_TRAIL", "S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "FLOW_LOGS", "DNS_LOGS", "RDS_LOGIN_EVENTS",
            "LAMBDA_NETWORK_LOGS", "EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING"} <= set(known["features"])


def _detector(**api):
    return parse("guardduty_detector", {"api_object": {"Status": "ENABLED", **api}, "related": {}})


def test_guardduty_features_become_finding_families():
    logic = _detector(Features=[{"Name": "CLOUD_TRAIL", "Status": "ENABLED"},
                                {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"},
                                {"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"},
                                {"Name": "EBS_MALWARE_PROTECTION", "Status": "ENABLED"}])
    found = _signals(logic, "finding_type")
    assert ("finding_type", "UnauthorizedAccess:IAMUser/", "prefix") in found
    assert ("finding_type", "Exfiltration:S3/", "prefix") in found
    assert ("finding_type", "Execution:EC2/MaliciousFile", "exact") in found
    assert not any(v.endswith(":Kubernetes/") for _, v, _ in found)  # EKS audit logs are off
    assert logic.parse_confidence == 0.9 and logic.monitored_entities["features"][0] == "CLOUD_TRAIL"


def test_guardduty_runtime_monitoring_via_additional_configuration():
    logic = _detector(Features=[{"Name": "RUNTIME_MONITORING", "Status": "ENABLED"}])
    assert ("finding_type", "Execution:Runtime/", "prefix") in _signals(logic)


def test_guardduty_legacy_data_sources():
    logic = _detector(DataSources={"CloudTrail": {"Status": "ENABLED"}, "S3Logs": {"Status": "ENABLED"},
                                   "Kubernetes": {"AuditLogs": {"Status": "ENABLED"}}})
    values = {v for _, v, _ in _signals(logic)}
    assert {"Recon:IAMUser/", "Discovery:S3/", "Execution:Kubernetes/"} <= values


def test_guardduty_features_decide_over_the_legacy_data_sources():
    """GetDetector returns both blocks; S3 protection switched off in Features stays ENABLED in DataSources.
    Features decide: no S3 finding families, while health reports the feature off."""
    logic = _detector(Features=[{"Name": "CLOUD_TRAIL", "Status": "ENABLED"},
                                {"Name": "S3_DATA_EVENTS", "Status": "DISABLED"}],
                      DataSources={"CloudTrail": {"Status": "ENABLED"}, "S3Logs": {"Status": "ENABLED"}})
    values = {v for _, v, _ in _signals(logic)}
    assert "Recon:IAMUser/" in values
    assert not any(v.endswith(":S3/") for v in values)
    assert logic.monitored_entities["features"] == ["CLOUD_TRAIL"]


def test_guardduty_without_feature_list_assumes_foundational_sources():
    logic = _detector()
    assert ("finding_type", "Backdoor:EC2/", "prefix") in _signals(logic)
    assert logic.parse_confidence == 0.5 and "assumed" in logic.reason


def test_guardduty_disabled_detector_has_no_signals():
    logic = parse("guardduty_detector", {"api_object": {"Status": "DISABLED",
                                                        "Features": [{"Name": "CLOUD_TRAIL", "Status": "ENABLED"}]}})
    assert logic.signals == [] and logic.parse_confidence == 0.0 and logic.reason == "detector disabled"


def test_securityhub_control_and_standard():
    control = parse("securityhub_control", {"api_object": {"ControlId": "IAM.6", "ControlStatus": "ENABLED",
                                                            "SeverityRating": "CRITICAL", "Title": "t"}})
    assert _signals(control) == {("control", "IAM.6", "exact")} and control.severity == "critical"
    new_api = parse("securityhub_control", {"api_object": {"SecurityControlId": "S3.1", "SeverityRating": "MEDIUM"}})
    assert _signals(new_api) == {("control", "S3.1", "exact")}
    disabled = parse("securityhub_control", {"api_object": {"ControlId": "IAM.6", "ControlStatus": "DISABLED"}})
    assert disabled.signals == [] and "disabled" in disabled.reason
    standard = parse("securityhub_standard", {"api_object": {
        "StandardsArn": "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/1.4.0",
        "StandardsStatus": "READY"}})
    assert _signals(standard) == {("standard", "cis-aws-foundations-benchmark/v/1.4.0", "exact")}
    legacy = parse("securityhub_standard", {"api_object": {
        "StandardsArn": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0",
        "StandardsStatus": "READY"}})
    assert _signals(legacy) == {("standard", "cis-aws-foundations-benchmark/v/1.2.0", "exact")}


def test_config_rules():
    managed = parse("config_rule", {"api_object": {
        "ConfigRuleName": "root-mfa", "Source": {"Owner": "AWS", "SourceIdentifier": "ROOT_ACCOUNT_MFA_ENABLED"},
        "Scope": {"ComplianceResourceTypes": ["AWS::IAM::User"]}, "ConfigRuleState": "ACTIVE"}})
    assert _signals(managed) == {("config_rule", "ROOT_ACCOUNT_MFA_ENABLED", "exact")}
    assert managed.parse_confidence == 0.9 and managed.monitored_entities["resources"] == ["AWS::IAM::User"]
    custom = parse("config_rule", {"api_object": {
        "ConfigRuleName": "my-check", "Source": {"Owner": "CUSTOM_LAMBDA", "SourceIdentifier": "arn:aws:lambda:x"}}})
    assert custom.signals == [] and custom.parse_confidence == 0.3 and "custom rule" in custom.reason


def test_metric_alarm():
    logic = parse("metric_alarm", {"api_object": {
        "AlarmName": "a", "MetricName": "RootAccountUsageCount", "Namespace": "CISBenchmark", "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Dimensions": [], "ActionsEnabled": True,
        "AlarmActions": ["arn:aws:sns:us-east-1:111111111111:sec"]}, "related": {}})
    assert ("metric", "CISBenchmark/RootAccountUsageCount", "exact") in _signals(logic)
    assert ("condition", "GreaterThanOrEqualToThreshold 1.0", "exact") in _signals(logic)
    assert logic.actions == ["arn:aws:sns:us-east-1:111111111111:sec"] and logic.parse_confidence == 0.5
    silent = parse("metric_alarm", {"api_object": {"MetricName": "M", "Namespace": "N", "ActionsEnabled": False}})
    assert "no actions" in silent.reason and "disabled" in silent.reason


@pytest.mark.parametrize("detection_type", ["guardduty_detector", "securityhub_standard", "securityhub_control",
                                            "config_rule", "metric_alarm"])
def test_empty_objects_never_raise(detection_type):
    logic = parse(detection_type, {"api_object": {}, "related": {}})
    assert 0.0 <= logic.parse_confidence <= 1.0
