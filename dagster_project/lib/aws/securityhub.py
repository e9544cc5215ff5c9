"""Security Hub: enabled standards and the controls of each (a hub not enabled yields nothing)."""

from collections.abc import Iterator

import boto3
from botocore.exceptions import ClientError

from dagster_project.lib.aws.clients import client, paginate, record

SERVICE = "securityhub"
NOT_ENABLED = {"InvalidAccessException", "ResourceNotFoundException"}
CONTROL_FIELDS = ("StandardsControlArn", "ControlId", "ControlStatus", "DisabledReason", "ControlStatusUpdatedAt",
                  "SeverityRating", "Title", "Description", "RemediationUrl", "RelatedRequirements")


def _standard_name(arn: str) -> str:
    """arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0 -> the path."""
    return arn.split(":")[-1].split("/", 1)[-1]


def _enabled(hub) -> bool:
    try:
        hub.describe_hub()
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in NOT_ENABLED:
            return False  # Security Hub off in this region is a fact about the account, not a failure
        raise
    return True


def collect(session: boto3.Session, region: str) -> Iterator[dict]:
    hub = client(session, "securityhub", region)
    if not _enabled(hub):
        return
    for std in paginate(hub, "get_enabled_standards", "StandardsSubscriptions"):
        arn = std["StandardsSubscriptionArn"]
        yield record(SERVICE, "securityhub_standard", arn, _standard_name(std.get("StandardsArn") or arn),
                     region, std)
        for control in paginate(hub, "describe_standards_controls", "Controls", StandardsSubscriptionArn=arn):
            kept = {k: control[k] for k in CONTROL_FIELDS if k in control}
            yield record(SERVICE, "securityhub_control", control["StandardsControlArn"],
                         control.get("ControlId") or control.get("Title"), region, kept,
                         {"standards_subscription_arn": arn})
