"""The sample organization in a moto server: resources land in each account, visible through describe_* calls."""

import boto3

from dagster_project.lib.aws import cloudwatch, eventbridge
from dagster_project.lib.aws import config as config_rules
from dagster_project.lib.sample_org import generate, populate_moto


def _session(endpoint: str, account_id: str) -> boto3.Session:
    creds = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="check",
    )["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])


def test_populate_moto_creates_each_accounts_detections(moto_reset, monkeypatch):
    endpoint = moto_reset
    result = populate_moto(endpoint, accounts=2, detections_per_account=20)
    expected = list(generate(2, 20))
    assert result["account_ids"] == [a.account_id for a in expected]
    creatable = {"metric_filter", "metric_alarm", "event_rule", "guardduty_detector", "config_rule"}
    records = [r for a in expected for r in a.records]
    assert result["failed"] == 0
    assert result["created"] == sum(r["detection_type"] in creatable for r in records)
    assert result["created"] + result["skipped"] == len(records)
    for account in expected:
        session = _session(endpoint, account.account_id)

        def client(service, region="us-east-1", session=session):
            return session.client(service, region_name=region, endpoint_url=endpoint)

        wanted = {t: {r["name"] for r in account.records if r["detection_type"] == t and r["region"] == "us-east-1"}
                  for t in ("metric_filter", "metric_alarm", "event_rule", "config_rule")}
        filters = client("logs").describe_metric_filters()["metricFilters"]
        assert {f["filterName"] for f in filters} == wanted["metric_filter"]
        alarms = client("cloudwatch").describe_alarms()["MetricAlarms"]
        assert {a["AlarmName"] for a in alarms} == wanted["metric_alarm"]
        assert all(a["AlarmArn"].split(":")[4] == account.account_id for a in alarms)
        rules = client("events").list_rules()["Rules"]
        assert wanted["event_rule"] <= {r["Name"] for r in rules}
        config = client("config").describe_config_rules()["ConfigRules"]
        assert {r["ConfigRuleName"] for r in config} == wanted["config_rule"]
        for region in account.regions:
            assert len(client("guardduty", region).list_detectors()["DetectorIds"]) == 1
        # the live collectors read the sample's detection tags back (ListTagsForResource)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        # moto has neither DescribeAlarmHistory nor DescribeConfigRuleEvaluationStatus
        monkeypatch.setattr(cloudwatch, "_history", lambda cw: {})
        monkeypatch.setattr(config_rules, "_statuses", lambda cfg, names: {})
        tagged = {(r["detection_type"], r["name"]): r["api_object"].get("Tags") for r in account.records
                  if r["region"] == "us-east-1" and r["detection_type"] in ("metric_alarm", "event_rule", "config_rule")}
        collected = {(r["detection_type"], r["name"]): r["api_object"].get("Tags")
                     for collect in (cloudwatch.collect, eventbridge.collect, config_rules.collect)
                     for r in collect(session, "us-east-1")}
        assert any(tagged.values()) and {k: collected[k] for k in tagged} == tagged
