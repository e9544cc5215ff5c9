"""Create the sample organization's detections in a moto server, so live collection can be measured.

Each account is entered the way the collectors enter it: sts:AssumeRole into
arn:aws:iam::<account>:role/<role>; moto files what those credentials create under that account id.
moto has no Security Hub standards/controls API and no Logs Insights query definitions, so those records are
counted as skipped (the collectors' tests use botocore's Stubber for them).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from dagster_project.lib.sample_org.generate import SampleAccount, generate

ROLE_NAME = "OrganizationAccountAccessRole"
ALARM_FIELDS = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
                "InsufficientDataActions", "MetricName", "Namespace", "Statistic", "Dimensions", "Period",
                "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData")
CONFIG_FIELDS = ("ConfigRuleName", "Description", "Scope", "Source", "InputParameters", "MaximumExecutionFrequency")


def _tags(api: dict) -> dict:
    """The resource's tags as its Put* call takes them (what ListTagsForResource then returns)."""
    return {"Tags": api["Tags"]} if api.get("Tags") else {}


class AccountWriter:
    def __init__(self, endpoint_url: str, account_id: str, role_name: str = ROLE_NAME):
        import boto3

        sts = boto3.client("sts", endpoint_url=endpoint_url, region_name="us-east-1")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}",
                                RoleSessionName="dcv-sample")["Credentials"]
        self.session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                                     aws_secret_access_key=creds["SecretAccessKey"],
                                     aws_session_token=creds["SessionToken"])
        self.endpoint_url = endpoint_url
        self.clients: dict[tuple[str, str], object] = {}
        self.log_groups: set[tuple[str, str]] = set()
        self.buses: set[tuple[str, str]] = set()
        self.hubs: set[str] = set()

    def client(self, service: str, region: str):
        key = (service, region)
        if key not in self.clients:
            self.clients[key] = self.session.client(service, region_name=region, endpoint_url=self.endpoint_url)
        return self.clients[key]

    def metric_filter(self, region: str, api: dict) -> None:
        logs = self.client("logs", region)
        if (region, api["logGroupName"]) not in self.log_groups:
            logs.create_log_group(logGroupName=api["logGroupName"])
            self.log_groups.add((region, api["logGroupName"]))
        logs.put_metric_filter(logGroupName=api["logGroupName"], filterName=api["filterName"],
                               filterPattern=api["filterPattern"], metricTransformations=api["metricTransformations"])

    def metric_alarm(self, region: str, api: dict) -> None:
        self.client("cloudwatch", region).put_metric_alarm(**{k: api[k] for k in ALARM_FIELDS if k in api},
                                                           **_tags(api))

    def event_rule(self, region: str, api: dict, related: dict) -> None:
        events = self.client("events", region)
        bus = api.get("EventBusName", "default")
        if bus != "default" and (region, bus) not in self.buses:
            events.create_event_bus(Name=bus)
            self.buses.add((region, bus))
        events.put_rule(Name=api["Name"], EventPattern=api["EventPattern"], State=api["State"],
                        Description=api.get("Description", ""), EventBusName=bus, **_tags(api))
        if related.get("targets"):
            events.put_targets(Rule=api["Name"], EventBusName=bus, Targets=related["targets"])

    def guardduty_detector(self, region: str, api: dict, related: dict) -> None:
        guardduty = self.client("guardduty", region)
        detector_id = guardduty.create_detector(
            Enable=api["Status"] == "ENABLED", FindingPublishingFrequency=api["FindingPublishingFrequency"],
            Features=[{"Name": f["Name"], "Status": f["Status"]} for f in api.get("Features", [])])["DetectorId"]
        for found in related.get("suppression_filters", []):
            guardduty.create_filter(DetectorId=detector_id, Name=found["Name"], Action=found["Action"],
                                    Rank=found["Rank"], FindingCriteria=found["FindingCriteria"])

    def config_rule(self, region: str, api: dict) -> None:
        self.client("config", region).put_config_rule(ConfigRule={k: api[k] for k in CONFIG_FIELDS if k in api},
                                                      **_tags(api))

    def securityhub(self, region: str) -> None:
        if region not in self.hubs:
            self.client("securityhub", region).enable_security_hub(EnableDefaultStandards=False)
            self.hubs.add(region)

    def write(self, record: dict) -> str:
        """Create one record's resource; returns created | skipped."""
        region, api, kind = record["region"], record["api_object"], record["detection_type"]
        if kind == "metric_filter":
            self.metric_filter(region, api)
        elif kind == "metric_alarm":
            self.metric_alarm(region, api)
        elif kind == "event_rule":
            self.event_rule(region, api, record["related"])
        elif kind == "guardduty_detector":
            self.guardduty_detector(region, api, record["related"])
        elif kind == "config_rule":
            self.config_rule(region, api)
        elif kind == "securityhub_standard":
            self.securityhub(region)
            return "skipped"
        else:
            return "skipped"
        return "created"


def _populate_account(endpoint_url: str, account: SampleAccount) -> Counter:
    from botocore.exceptions import ClientError

    counts: Counter = Counter()
    if not account.records:
        return counts
    writer = AccountWriter(endpoint_url, account.account_id)
    for record in account.records:
        try:
            counts[writer.write(record)] += 1
        except ClientError:  # moto's limits (150 Config rules per region) or parameter checks
            counts["failed"] += 1
    return counts


def populate_moto(endpoint_url: str, accounts: int, detections_per_account: int, seed: int = 7,
                  max_workers: int = 8) -> dict:
    """Create the sample detections in moto; returns counts and the account ids to scan."""
    totals: Counter = Counter()
    account_ids: list[str] = []

    def one(account: SampleAccount) -> Counter:
        return _populate_account(endpoint_url, account)

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        # generate() streams; the pool holds at most a few accounts' records in flight
        futures = []
        for account in generate(accounts, detections_per_account, seed=seed):
            if account.records:
                account_ids.append(account.account_id)
            futures.append(pool.submit(one, account))
            if len(futures) >= max_workers * 2:
                totals.update(futures.pop(0).result())
        for future in futures:
            totals.update(future.result())
    return {"accounts": len(account_ids), "account_ids": account_ids, "created": totals["created"],
            "skipped": totals["skipped"], "failed": totals["failed"]}
