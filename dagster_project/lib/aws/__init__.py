"""Live AWS collection: one read-only collector per service, `collect(session, region) -> Iterator[dict]`.

No Dagster here. `org` fans the collectors out over accounts and regions; docs/collection.md explains.
"""

from dagster_project.lib.aws import cloudwatch, cloudwatch_logs, config, eventbridge, guardduty, securityhub

# Name -> collector. Every collector has the same signature, so org.scan_account treats them alike.
SERVICES = {
    "cloudwatch_logs": cloudwatch_logs.collect,
    "cloudwatch": cloudwatch.collect,
    "eventbridge": eventbridge.collect,
    "guardduty": guardduty.collect,
    "securityhub": securityhub.collect,
    "config": config.collect,
}
