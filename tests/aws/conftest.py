"""Fixtures for the AWS collector tests: real boto3 over HTTP to moto's server, plus canned answers for the
few read operations moto 5 does not implement.

moto lacks DescribeQueryDefinitions, DescribeAlarmHistory, GuardDuty ListFilters,
DescribeConfigRuleEvaluationStatus, Security Hub GetEnabledStandards and DescribeStandardsControls (it answers
HTTP 500/404). `serve` answers exactly one operation of a session from canned data, the way botocore's
Stubber does (the response is validated against the operation's output shape, and the call short-circuits
before anything is sent); Stubber itself cannot be used because it takes over every operation of a client,
and these tests need all other operations to reach moto.
"""

from types import SimpleNamespace

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

REGION = "us-east-1"
MANAGEMENT = "123456789012"  # moto's default account

# Hyphenized service ids, as botocore names them in events.
EVENT_SERVICE = {"logs": "cloudwatch-logs", "cloudwatch": "cloudwatch", "guardduty": "guardduty",
                 "config": "config-service", "securityhub": "securityhub", "events": "eventbridge"}

# Empty answers for moto's gaps, so a full scan runs end to end.
GAPS = {
    ("logs", "DescribeQueryDefinitions"): {"queryDefinitions": []},
    ("cloudwatch", "DescribeAlarmHistory"): {"AlarmHistoryItems": []},
    ("guardduty", "ListFilters"): {"FilterNames": []},
    ("config", "DescribeConfigRuleEvaluationStatus"): {"ConfigRulesEvaluationStatus": []},
    ("securityhub", "GetEnabledStandards"): {"StandardsSubscriptions": []},
    ("securityhub", "DescribeStandardsControls"): {"Controls": []},
}


def serve(session: boto3.Session, service: str, operation: str, respond) -> list[dict]:
    """Answer `operation` from `respond(params) -> dict` (or a fixed dict); returns the params of each call."""
    calls = []
    event = f"{EVENT_SERVICE[service]}.{operation}"

    def keep_params(params, context, **_):
        context["dcv_api_params"] = dict(params)

    def answer(model, context, **_):
        params = context.get("dcv_api_params", {})
        calls.append(params)
        response = respond(params) if callable(respond) else respond
        validate_parameters(response, model.output_shape)  # realistic shapes only, as Stubber checks
        return AWSResponse("https://canned.invalid", 200, {}, None), response

    session.events.register(f"before-parameter-build.{event}", keep_params)
    session.events.register(f"before-call.{event}", answer)
    return calls


def fill_gaps(session: boto3.Session, skip=()) -> boto3.Session:
    for (service, operation), response in GAPS.items():
        if (service, operation) not in skip:
            serve(session, service, operation, response)
    return session


def pages(items: list, key: str, size: int, next_key: str = "nextToken"):
    """A canned paginated answer: `size` items per page, the token is the next offset."""

    def respond(params):
        start = int(params.get(next_key) or 0)
        page = {key: items[start:start + size]}
        if start + size < len(items):
            page[next_key] = str(start + size)
        return page

    return respond


@pytest.fixture
def aws(moto_reset, monkeypatch) -> boto3.Session:
    """A session in moto's (clean) default account; boto3 sends every service to moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_reset)
    return boto3.Session(region_name=REGION)


@pytest.fixture
def canned() -> SimpleNamespace:
    """The helpers above, for test modules (importlib mode: conftest is not importable by name)."""
    return SimpleNamespace(serve=serve, fill_gaps=fill_gaps, pages=pages, GAPS=GAPS)
