"""Pure helpers and the read-only guard."""

import datetime as dt
import decimal
import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from dagster_project.lib.aws import clients, org

REGION = "us-east-1"


def test_json_safe_turns_api_values_into_json():
    value = {"ResponseMetadata": {"RequestId": "x"}, "When": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
             "Day": dt.date(2024, 1, 2), "Blob": b"\x00\x01", "N": decimal.Decimal("3"),
             "F": decimal.Decimal("1.5"), "Nested": [{"At": dt.datetime(2024, 1, 1)}], "Set": {"a"}}
    safe = clients.json_safe(value)
    assert safe == {"When": "2024-01-02T03:04:05+00:00", "Day": "2024-01-02", "Blob": "AAE=", "N": 3, "F": 1.5,
                    "Nested": [{"At": "2024-01-01T00:00:00"}], "Set": ["a"]}
    json.dumps(safe)


def test_record_has_the_storage_shape():
    r = clients.record("cloudwatch", "metric_alarm", "arn:x", "x", REGION,
                       {"At": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "ResponseMetadata": {}})
    assert r == {"provider": "aws", "service": "cloudwatch", "detection_type": "metric_alarm", "native_id": "arn:x",
                 "name": "x", "region": REGION, "api_object": {"At": "2024-01-01T00:00:00+00:00"}, "related": {}}


def test_token_loop_follows_tokens():
    pages = {None: {"Items": [1, 2], "NextToken": "a"}, "a": {"Items": [3], "NextToken": "b"}, "b": {"Items": []}}
    seen = []

    def call(**kw):
        seen.append(kw)
        return pages[kw.get("NextToken")]

    assert list(clients.token_loop(call, "Items", "NextToken", Limit=2)) == [1, 2, 3]
    assert seen == [{"Limit": 2}, {"Limit": 2, "NextToken": "a"}, {"Limit": 2, "NextToken": "b"}]


@pytest.mark.parametrize(("scopes", "failed", "setup_failed", "expected"), [
    (12, 0, False, "success"), (12, 1, False, "partial"), (12, 12, False, "failed"), (0, 0, False, "failed"),
    (12, 0, True, "failed")])
def test_status(scopes, failed, setup_failed, expected):
    assert org.status(scopes, failed, setup_failed) == expected


def test_error_entries_name_the_account_and_never_carry_credentials():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "User: arn:aws:sts::1:assumed-role/"
                                    "r/dcv-scan is not authorized; key ASIAABCDEFGHIJKLMNOP sekrit"}},
                         "DescribeAlarms")
    e = org.error("111122223333", REGION, "cloudwatch", denied, secrets=["sekrit"])
    assert e["region"] == REGION and e["service"] == "cloudwatch" and e["error_code"] == "AccessDeniedException"
    assert e["message"].startswith("account 111122223333 us-east-1/cloudwatch: ")
    assert "sekrit" not in e["message"] and "ASIAABCDEFGHIJKLMNOP" not in e["message"]
    transport = org.error("111122223333", "eu-west-1", "guardduty",
                          EndpointConnectionError(endpoint_url="https://guardduty.eu-west-1.amazonaws.com"))
    assert transport["error_code"] == "EndpointConnectionError"
    assert "guardduty.eu-west-1" in transport["message"]
    # an XML error body botocore could not parse (moto answering a JSON-protocol service) still gives the code
    xml = ClientError({"Error": {"Code": "403", "Message": "<ErrorResponse><Errors><Error><Code>AccessDenied</Code>"}},
                      "ListRules")
    assert org.error("1", REGION, "eventbridge", xml)["error_code"] == "AccessDenied"


def test_guard_refuses_writes_before_anything_is_sent(aws):
    cw = clients.client(aws, "cloudwatch", REGION)
    with pytest.raises(clients.WriteRefused, match="cloudwatch:PutMetricAlarm"):
        cw.put_metric_alarm(AlarmName="x", MetricName="m", Namespace="n", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    assert cw.describe_alarms()["MetricAlarms"] == []  # reads pass; the write never reached the server
    with pytest.raises(clients.WriteRefused):
        clients.client(aws, "sts", REGION).assume_role(RoleArn="arn:aws:iam::1:role/r", RoleSessionName="scan")
    assert cw.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}  # max_attempts=10 retries
    assert (cw.meta.config.connect_timeout, cw.meta.config.read_timeout) == (10, 60)


def test_docs_print_every_action_the_scan_uses():
    from pathlib import Path

    from dagster_project.lib.aws import policy

    text = (Path(__file__).resolve().parents[2] / "docs" / "collection.md").read_text()
    for action in policy.SCANNED_ROLE_ACTIONS + policy.SCANNER_ACTIONS:
        assert f'"{action}"' in text, action
