"""CloudWatch: metric and composite alarms, with the last 30 days of state changes and the tags of each."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3

from dagster_project.lib.aws.clients import client, paginate, record, tags, with_tags

SERVICE = "cloudwatch"
HISTORY_DAYS = 30  # CloudWatch keeps alarm history for 30 days anyway


def _history(cw) -> dict[str, list[dict]]:
    """State changes of every alarm in the region, in one paginated call rather than one per alarm."""
    end = datetime.now(UTC)
    by_alarm = defaultdict(list)
    for item in paginate(cw, "describe_alarm_history", "AlarmHistoryItems", HistoryItemType="StateUpdate",
                         StartDate=end - timedelta(days=HISTORY_DAYS), EndDate=end,
                         AlarmTypes=["MetricAlarm", "CompositeAlarm"], ScanBy="TimestampDescending"):
        by_alarm[item["AlarmName"]].append(item)
    return by_alarm


def collect(session: boto3.Session, region: str) -> Iterator[dict]:
    cw = client(session, "cloudwatch", region)
    history = _history(cw)
    for page in cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for alarm in (page.get("MetricAlarms") or []) + (page.get("CompositeAlarms") or []):
            found = tags(cw, "list_tags_for_resource", ResourceARN=alarm["AlarmArn"])
            yield record(SERVICE, "metric_alarm", alarm["AlarmArn"], alarm["AlarmName"], region,
                         with_tags(alarm, found), {"alarm_history": history.get(alarm["AlarmName"], [])})
