"""Each collector against moto's server: real resources in, record shapes and values out."""

import json
from datetime import UTC, datetime, timedelta

from dagster_project.lib.aws import (
    SERVICES,
    cloudwatch,
    cloudwatch_logs,
    config,
    eventbridge,
    guardduty,
    securityhub,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
KEYS = {"provider", "service", "detection_type", "native_id", "name", "region", "api_object", "related"}


def check_shape(records, service, detection_type):
    for r in records:
        assert set(r) == KEYS
        assert (r["provider"], r["service"], r["detection_type"], r["region"]) == ("aws", service, detection_type,
                                                                                   REGION)
        assert "ResponseMetadata" not in r["api_object"]
        json.dumps(r)  # JSON-safe, or this raises
    assert len({r["native_id"] for r in records}) == len(records)


def by_type(records):
    out = {}
    for r in records:
        out.setdefault(r["detection_type"], []).append(r)
    return out


def test_registry_has_every_service():
    assert set(SERVICES) == {"cloudwatch_logs", "cloudwatch", "eventbridge", "guardduty", "securityhub", "config"}


def test_cloudwatch_logs_metric_filters_and_saved_queries(aws, canned):
    logs = aws.client("logs")
    for group in ("cloudtrail", "vpc-flow"):
        logs.create_log_group(logGroupName=group)
    # 60 filters: more than one 50-item page of DescribeMetricFilters on real AWS
    for i in range(60):
        logs.put_metric_filter(logGroupName="cloudtrail" if i % 2 else "vpc-flow", filterName=f"f{i:02}",
                               filterPattern='{ $.userIdentity.type = "Root" }',
                               metricTransformations=[{"metricName": f"m{i}", "metricNamespace": "CIS",
                                                       "metricValue": "1"}])
    queries = [{"queryDefinitionId": f"q-{i}", "name": f"hunt/{i}", "queryString": "fields @message | limit 5",
                "lastModified": 1_700_000_000_000 + i, "logGroupNames": ["cloudtrail"]} for i in range(5)]
    calls = canned.serve(aws, "logs", "DescribeQueryDefinitions", canned.pages(queries, "queryDefinitions", 2))

    records = by_type(cloudwatch_logs.collect(aws, REGION))

    filters = records["metric_filter"]
    check_shape(filters, "cloudwatch_logs", "metric_filter")
    assert len(filters) == 60
    f = next(r for r in filters if r["name"] == "f01")
    assert f["native_id"] == "cloudtrail:f01"
    assert f["api_object"]["filterPattern"] == '{ $.userIdentity.type = "Root" }'
    assert f["api_object"]["metricTransformations"][0]["metricName"] == "m1"

    saved = records["logs_insights_query"]
    check_shape(saved, "cloudwatch_logs", "logs_insights_query")
    assert [r["native_id"] for r in saved] == [f"q-{i}" for i in range(5)]  # all three pages followed
    assert len(calls) == 3 and calls[1]["nextToken"] == "2"
    assert saved[0]["name"] == "hunt/0" and saved[0]["api_object"]["queryString"].startswith("fields")


def test_cloudwatch_alarms_with_history(aws, canned):
    cw = aws.client("cloudwatch")
    for i in range(55):
        cw.put_metric_alarm(AlarmName=f"alarm-{i:02}", MetricName=f"m{i}", Namespace="CIS", Statistic="Sum",
                            Period=300, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold",
                            AlarmActions=[f"arn:aws:sns:{REGION}:{ACCOUNT}:security"])
    cw.set_alarm_state(AlarmName="alarm-00", StateValue="ALARM", StateReason="root login")
    now = datetime.now(UTC)
    history = [{"AlarmName": "alarm-00", "AlarmType": "MetricAlarm", "Timestamp": now - timedelta(hours=h),
                "HistoryItemType": "StateUpdate", "HistorySummary": summary, "HistoryData": "{}"}
               for h, summary in ((1, "Alarm updated from OK to ALARM"), (30, "Alarm updated from ALARM to OK"))]
    calls = canned.serve(aws, "cloudwatch", "DescribeAlarmHistory",
                         canned.pages(history, "AlarmHistoryItems", 1, next_key="NextToken"))

    records = list(cloudwatch.collect(aws, REGION))

    check_shape(records, "cloudwatch", "metric_alarm")
    assert len(records) == 55
    alarm = next(r for r in records if r["name"] == "alarm-00")
    assert alarm["native_id"] == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:alarm-00"
    assert alarm["api_object"]["StateValue"] == "ALARM"
    assert alarm["api_object"]["AlarmActions"] == [f"arn:aws:sns:{REGION}:{ACCOUNT}:security"]
    datetime.fromisoformat(alarm["api_object"]["StateUpdatedTimestamp"])  # datetime -> ISO string
    items = alarm["related"]["alarm_history"]
    assert [i["HistorySummary"] for i in items] == ["Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK"]
    assert datetime.fromisoformat(items[0]["Timestamp"]) == now - timedelta(hours=1)
    assert all(r["related"] == {"alarm_history": []} for r in records if r["name"] != "alarm-00")
    # one region-wide history query (two pages), last 30 days of state changes
    assert len(calls) == 2 and calls[0]["HistoryItemType"] == "StateUpdate"
    assert calls[0]["EndDate"] - calls[0]["StartDate"] == timedelta(days=30)


def test_eventbridge_rules_on_every_bus_with_targets(aws):
    events = aws.client("events")
    events.create_event_bus(Name="security")
    pattern = json.dumps({"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"]})
    events.put_rule(Name="iam-changes", EventPattern=pattern)
    events.put_targets(Rule="iam-changes", Targets=[{"Id": "sns", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:sec"}])
    events.put_rule(Name="no-target", EventPattern=json.dumps({"source": ["aws.guardduty"]}))
    events.put_rule(Name="custom-bus-rule", EventBusName="security", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="custom-bus-rule", EventBusName="security",
                       Targets=[{"Id": "fn", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"}])

    records = {r["name"]: r for r in eventbridge.collect(aws, REGION)}

    check_shape(records.values(), "eventbridge", "event_rule")
    assert set(records) == {"iam-changes", "no-target", "custom-bus-rule"}
    rule = records["iam-changes"]
    assert rule["native_id"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/iam-changes"
    assert rule["api_object"]["EventPattern"] == pattern  # the JSON string as AWS returns it
    assert [t["Id"] for t in rule["related"]["targets"]] == ["sns"]
    assert records["no-target"]["related"] == {"targets": []}
    custom = records["custom-bus-rule"]
    assert custom["native_id"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/security/custom-bus-rule"
    assert custom["related"]["targets"][0]["Arn"].endswith(":function:f")


def test_guardduty_detector_features_and_filters(aws, canned):
    gd = aws.client("guardduty")
    detector_id = gd.create_detector(Enable=True, FindingPublishingFrequency="FIFTEEN_MINUTES", Features=[
        {"Name": "S3_DATA_EVENTS", "Status": "ENABLED"}, {"Name": "EKS_AUDIT_LOGS", "Status": "DISABLED"}])["DetectorId"]
    gd.create_filter(DetectorId=detector_id, Name="archive-low", Action="ARCHIVE",
                     FindingCriteria={"Criterion": {"severity": {"Lt": 4}}})
    # ListFilters is not in moto: answer it with the filter created above; GetFilter reaches moto.
    canned.serve(aws, "guardduty", "ListFilters", {"FilterNames": ["archive-low"]})

    records = list(guardduty.collect(aws, REGION))

    check_shape(records, "guardduty", "guardduty_detector")
    [detector] = records
    assert detector["native_id"] == detector_id
    api = detector["api_object"]
    assert api["DetectorId"] == detector_id and api["Status"] == "ENABLED"
    assert {f["Name"]: f["Status"] for f in api["Features"]} == {"S3_DATA_EVENTS": "ENABLED",
                                                                 "EKS_AUDIT_LOGS": "DISABLED"}
    assert "DataSources" in api
    [flt] = detector["related"]["suppression_filters"]
    assert flt["Name"] == "archive-low" and flt["Action"] == "ARCHIVE"
    assert flt["FindingCriteria"] == {"Criterion": {"severity": {"Lt": 4}}}


def test_securityhub_not_enabled_yields_nothing(aws):
    assert list(securityhub.collect(aws, REGION)) == []  # moto's real InvalidAccessException


def test_securityhub_standards_and_controls(aws, canned):
    aws.client("securityhub").enable_security_hub(EnableDefaultStandards=False)  # DescribeHub reaches moto
    sub = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0"
    canned.serve(aws, "securityhub", "GetEnabledStandards", {"StandardsSubscriptions": [{
        "StandardsSubscriptionArn": sub,
        "StandardsArn": f"arn:aws:securityhub:{REGION}::standards/aws-foundational-security-best-practices/v/1.0.0",
        "StandardsInput": {}, "StandardsStatus": "READY"}]})
    controls = [{
        "StandardsControlArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:control/aws-foundational-security-best-"
                               f"practices/v/1.0.0/{cid}",
        "ControlStatus": status, "ControlStatusUpdatedAt": datetime(2024, 5, 1, tzinfo=UTC), "ControlId": cid,
        "Title": f"{cid} title", "Description": "desc", "SeverityRating": "HIGH",
        "RemediationUrl": "https://docs.aws.amazon.com/console/securityhub/x", "RelatedRequirements": []}
        for cid, status in (("IAM.1", "ENABLED"), ("IAM.2", "DISABLED"), ("CloudTrail.1", "ENABLED"))]
    calls = canned.serve(aws, "securityhub", "DescribeStandardsControls",
                         canned.pages(controls, "Controls", 2, next_key="NextToken"))

    records = by_type(securityhub.collect(aws, REGION))

    [standard] = records["securityhub_standard"]
    check_shape([standard], "securityhub", "securityhub_standard")
    assert standard["native_id"] == sub
    assert standard["name"] == "aws-foundational-security-best-practices/v/1.0.0"
    found = records["securityhub_control"]
    check_shape(found, "securityhub", "securityhub_control")
    assert [r["name"] for r in found] == ["IAM.1", "IAM.2", "CloudTrail.1"]
    iam2 = found[1]
    assert iam2["native_id"].endswith("/IAM.2")
    assert {k: iam2["api_object"][k] for k in ("ControlId", "ControlStatus", "SeverityRating", "Title")} == {
        "ControlId": "IAM.2", "ControlStatus": "DISABLED", "SeverityRating": "HIGH", "Title": "IAM.2 title"}
    assert iam2["api_object"]["ControlStatusUpdatedAt"].startswith("2024-05-01T00:00:00")
    assert [c["StandardsSubscriptionArn"] for c in calls] == [sub, sub]


def test_config_rules_with_evaluation_status_in_batches_of_50(aws, canned):
    cfg = aws.client("config")
    names = [f"rule-{i:02}" for i in range(55)]
    for name in names:
        cfg.put_config_rule(ConfigRule={"ConfigRuleName": name, "Source": {
            "Owner": "AWS", "SourceIdentifier": "ROOT_ACCOUNT_MFA_ENABLED"}})
    evaluated = datetime(2024, 6, 1, 12, tzinfo=UTC)

    def statuses(params):  # moto lacks evaluation status: answer for exactly the names asked
        return {"ConfigRulesEvaluationStatus": [
            {"ConfigRuleName": n, "ConfigRuleArn": f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/{n}",
             "ConfigRuleId": n, "LastSuccessfulEvaluationTime": evaluated, "FirstEvaluationStarted": True}
            for n in params["ConfigRuleNames"]]}

    calls = canned.serve(aws, "config", "DescribeConfigRuleEvaluationStatus", statuses)

    records = list(config.collect(aws, REGION))

    check_shape(records, "config", "config_rule")
    assert sorted(r["name"] for r in records) == names
    rule = next(r for r in records if r["name"] == "rule-07")
    assert rule["native_id"].startswith(f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/")
    assert rule["api_object"]["Source"]["SourceIdentifier"] == "ROOT_ACCOUNT_MFA_ENABLED"
    status = rule["related"]["evaluation_status"]
    assert status["ConfigRuleName"] == "rule-07"
    assert datetime.fromisoformat(status["LastSuccessfulEvaluationTime"]) == evaluated
    assert [len(c["ConfigRuleNames"]) for c in calls] == [50, 5]


def test_resource_tags_of_rules_alarms_and_config_rules_read_only(aws, canned):
    """ListTagsForResource of each EventBridge rule, alarm and Config rule lands in its api_object as "Tags",
    verbatim; an untagged resource's record is the listing alone. Every call is a read the policy names."""
    from dagster_project.lib.aws import clients, policy

    owner = [{"Key": "owner", "Value": "secops"}, {"Key": "criticality", "Value": "high"}]
    events = aws.client("events")
    events.create_event_bus(Name="security")
    events.put_rule(Name="tagged", EventPattern='{"source": ["aws.iam"]}', Tags=owner)
    events.put_rule(Name="bus-rule", EventBusName="security", EventPattern='{"source": ["aws.s3"]}',
                    Tags=[{"Key": "owner", "Value": "platform"}])
    events.put_rule(Name="untagged", EventPattern='{"source": ["aws.kms"]}')
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName="root", MetricName="Root", Namespace="CIS", Statistic="Sum", Period=300, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", Tags=owner)
    aws.client("config").put_config_rule(ConfigRule={"ConfigRuleName": "mfa", "Source": {
        "Owner": "AWS", "SourceIdentifier": "ROOT_ACCOUNT_MFA_ENABLED"}}, Tags=[{"Key": "Owner", "Value": "iam"}])
    canned.fill_gaps(aws)
    seen = []
    aws.events.register("before-parameter-build.*.*",
                        lambda model, **_: seen.append(f"{model.service_model.service_name}:{model.name}"))

    rules = {r["name"]: r["api_object"] for r in eventbridge.collect(aws, REGION)}
    [alarm] = cloudwatch.collect(aws, REGION)
    [rule] = config.collect(aws, REGION)

    assert rules["tagged"]["Tags"] == owner
    assert rules["bus-rule"]["Tags"] == [{"Key": "owner", "Value": "platform"}]  # a custom bus's rule ARN
    assert "Tags" not in rules["untagged"]
    assert alarm["api_object"]["Tags"] == owner
    assert rule["api_object"]["Tags"] == [{"Key": "Owner", "Value": "iam"}]
    assert seen.count("events:ListTagsForResource") == 3 and seen.count("config:ListTagsForResource") == 1
    assert seen.count("cloudwatch:ListTagsForResource") == 1
    assert all(clients.is_read(op.split(":")[1]) for op in seen)
    assert set(seen) <= set(policy.SCANNED_ROLE_ACTIONS)  # service names here are the IAM prefixes
