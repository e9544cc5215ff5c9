"""EventBridge: the rules of every event bus (default and custom), each with its targets and resource tags."""

from collections.abc import Iterator

import boto3

from dagster_project.lib.aws.clients import client, paginate, record, tags, token_loop, with_tags

SERVICE = "eventbridge"


def collect(session: boto3.Session, region: str) -> Iterator[dict]:
    events = client(session, "events", region)
    # botocore has no paginator for ListEventBuses.
    for bus in token_loop(events.list_event_buses, "EventBuses", "NextToken"):
        for rule in paginate(events, "list_rules", "Rules", EventBusName=bus["Name"]):
            targets = list(paginate(events, "list_targets_by_rule", "Targets", Rule=rule["Name"],
                                    EventBusName=bus["Name"]))
            found = tags(events, "list_tags_for_resource", ResourceARN=rule["Arn"])
            # EventPattern stays the JSON string AWS returns: parsing is the logic parser's job.
            yield record(SERVICE, "event_rule", rule["Arn"], rule["Name"], region, with_tags(rule, found),
                         {"targets": targets})
