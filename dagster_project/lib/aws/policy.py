"""The IAM the scan needs, as data: docs/collection.md prints it and tests run scans under it in moto."""

# Every action the collectors call in a scanned account, and nothing else.
SCANNED_ROLE_ACTIONS = [
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "config:DescribeConfigRuleEvaluationStatus",
    "config:DescribeConfigRules",
    "config:ListTagsForResource",
    "ec2:DescribeRegions",  # only when DCV_AWS_REGIONS is unset
    "events:ListEventBuses",
    "events:ListRules",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
    "guardduty:GetDetector",
    "guardduty:GetFilter",
    "guardduty:ListDetectors",
    "guardduty:ListFilters",
    "logs:DescribeMetricFilters",
    "logs:DescribeQueryDefinitions",
    "securityhub:DescribeHub",
    "securityhub:DescribeStandardsControls",
    "securityhub:GetEnabledStandards",
]

# What the identity running Dagster needs in the management (or delegated administrator) account.
# organizations:ListTagsForResource reads each account's tags (owner, environment, criticality).
SCANNER_ACTIONS = ["organizations:ListAccounts", "organizations:ListTagsForResource", "sts:AssumeRole"]


def scanned_role_policy() -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": "DcvReadDetections", "Effect": "Allow", "Action": SCANNED_ROLE_ACTIONS,
                           "Resource": "*"}]}


def scanner_policy(role_name: str, partition: str = "aws") -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DcvListAccounts", "Effect": "Allow",
         "Action": ["organizations:ListAccounts", "organizations:ListTagsForResource"], "Resource": "*"},
        {"Sid": "DcvAssumeScanRole", "Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": f"arn:{partition}:iam::*:role/{role_name}"},
    ]}


def trust_policy(scanner_account_id: str, partition: str = "aws") -> dict:
    """Trust for the scanned role: only the scanner's account may assume it."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{scanner_account_id}:root"},
         "Action": "sts:AssumeRole"},
    ]}
