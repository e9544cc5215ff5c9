"""CloudWatch Logs: metric filters (every log group) and Logs Insights saved queries."""

from collections.abc import Iterator

import boto3

from dagster_project.lib.aws.clients import client, paginate, record, token_loop

SERVICE = "cloudwatch_logs"


def collect(session: boto3.Session, region: str) -> Iterator[dict]:
    logs = client(session, "logs", region)
    # Without logGroupName, DescribeMetricFilters lists the filters of every log group in the region.
    for f in paginate(logs, "describe_metric_filters", "metricFilters"):
        # Filter names are unique per log group only; the pair is stable within account + region.
        yield record(SERVICE, "metric_filter", f"{f['logGroupName']}:{f['filterName']}", f["filterName"],
                     region, f)
    # botocore has no paginator for DescribeQueryDefinitions.
    for q in token_loop(logs.describe_query_definitions, "queryDefinitions", maxResults=1000):
        yield record(SERVICE, "logs_insights_query", q["queryDefinitionId"], q.get("name"), region, q)
