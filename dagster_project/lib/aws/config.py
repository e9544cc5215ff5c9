"""AWS Config: rules (managed and custom) with their latest evaluation status and resource tags."""

from collections.abc import Iterator

import boto3

from dagster_project.lib.aws.clients import client, paginate, record, tags, with_tags

SERVICE = "config"
STATUS_BATCH = 50  # DescribeConfigRuleEvaluationStatus accepts at most 50 rule names per call


def _statuses(cfg, names: list[str]) -> dict[str, dict]:
    found = {}
    for i in range(0, len(names), STATUS_BATCH):
        for s in paginate(cfg, "describe_config_rule_evaluation_status", "ConfigRulesEvaluationStatus",
                          ConfigRuleNames=names[i:i + STATUS_BATCH]):
            found[s["ConfigRuleName"]] = s
    return found


def collect(session: boto3.Session, region: str) -> Iterator[dict]:
    cfg = client(session, "config", region)
    rules = list(paginate(cfg, "describe_config_rules", "ConfigRules"))
    statuses = _statuses(cfg, [r["ConfigRuleName"] for r in rules]) if rules else {}
    for rule in rules:
        found = tags(cfg, "list_tags_for_resource", ResourceArn=rule["ConfigRuleArn"])
        yield record(SERVICE, "config_rule", rule["ConfigRuleArn"], rule["ConfigRuleName"], region,
                     with_tags(rule, found), {"evaluation_status": statuses.get(rule["ConfigRuleName"])})
