"""A deterministic sample organization: accounts and their detections, one account at a time.

Everything is drawn from a per-account random.Random seeded by (seed, account index), so the same seed gives
the same organization. `day` only adds churn on top: each detection has a fixed phase in a CHURN_PERIOD-day
cycle and is changed (disabled, edited, removed, or joined by a copy) for CHURN_DAYS days of it, so two
adjacent days differ in ~2/CHURN_PERIOD of detections and any two days in at most ~2*CHURN_DAYS/CHURN_PERIOD.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

EPOCH = date(2024, 1, 1)
CHURN_PERIOD, CHURN_DAYS = 150, 3  # ~1.3 % of detections change between two adjacent days
ALARM_PERIOD = 30  # an alarm fires on one day in ALARM_PERIOD (runtime state, not a new version)
ID_SPACE = 900_000_000_000
ID_STEP = 982_451_653  # prime, so index -> account id is one-to-one over the whole 12-digit space

# Budget shares per detection family; what a family cannot fill (its catalog is finite) goes to event rules.
SHARES = {"controls": 0.30, "metric_pairs": 0.25, "config_rules": 0.12, "queries": 0.02}


@functools.cache
def catalog() -> dict:
    return yaml.safe_load(Path(__file__).with_name("catalog.yaml").read_text())


@dataclass
class SampleAccount:
    account_id: str
    name: str
    status: str  # ACTIVE | SUSPENDED (a suspended account exports nothing)
    regions: list[str]
    records: list[dict]
    email: str = ""
    joined: str = ""  # ISO timestamp
    joined_method: str = "CREATED"
    tags: list[dict] = field(default_factory=list)  # organizations list-tags-for-resource: owner, environment, ...


def stable_hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def account_id(seed: int, index: int) -> str:
    offset = stable_hash("account-offset", seed) % ID_SPACE
    return str(100_000_000_000 + (offset + index * ID_STEP) % ID_SPACE)


def organization_id(seed: int) -> str:
    return "o-" + format(stable_hash("org", seed), "x")[:10].rjust(10, "0")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _at(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)


# --- the account's profile ---------------------------------------------------------------------------------

SPECIAL = [("org-management", "management"), ("security-tooling", "security"), ("log-archive", "logging")]
KINDS = [("prod", 35), ("staging", 15), ("dev", 30), ("sandbox", 20)]


def _profile(rng: random.Random, index: int) -> tuple[str, str, list[str]]:
    regions = catalog()["regions"]
    if index < len(SPECIAL):
        name, kind = SPECIAL[index]
        return name, kind, regions[:3]
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    team = rng.choice(catalog()["teams"])
    extra = {"prod": rng.randint(1, 3), "staging": rng.randint(0, 2), "dev": rng.randint(0, 1), "sandbox": 0}[kind]
    # every account has its home region us-east-1, where global services (IAM, sign-in) deliver their events
    return f"{kind}-{team}-{index:04d}", kind, ["us-east-1", *rng.sample(regions[1:], extra)]


class Builder:
    """Builds one account's records; holds the account's random stream so draws are reproducible."""

    def __init__(self, seed: int, index: int, account: str, kind: str, regions: list[str], rng: random.Random):
        self.seed, self.index, self.account, self.kind, self.regions, self.rng = seed, index, account, kind, regions, rng
        self.careful = kind in ("prod", "management", "security", "logging")
        self.teams = catalog()["teams"]

    def created(self) -> datetime:
        return _at(EPOCH, 0) - timedelta(days=self.rng.randint(30, 900), seconds=self.rng.randint(0, 86399))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def variant(self, v: int, base: str) -> str:
        """Copies beyond the first set belong to teams: payments-<base>, then payments-2-<base>, ..."""
        if v == 0:
            return base
        team, round_ = self.teams[(v - 1) % len(self.teams)], (v - 1) // len(self.teams)
        return f"{team}-{base}" if round_ == 0 else f"{team}-{round_ + 1}-{base}"

    def record(self, service: str, detection_type: str, native_id: str, name: str, region: str,
               api_object: dict, related: dict | None = None) -> dict:
        return {"provider": "aws", "service": service, "detection_type": detection_type, "native_id": native_id,
                "name": name, "region": region, "account_id": self.account, "api_object": api_object,
                "related": related or {}}

    # --- CloudWatch Logs metric filters + alarms (CIS 3.x / 4.x) ---------------------------------------------

    def metric_pairs(self, budget: int) -> list[dict]:
        filters = list(catalog()["cis_metric_filters"])
        self.rng.shuffle(filters)
        pairs = max(0, budget // 2)
        records: list[dict] = []
        orphan = pairs >= 4 and self.chance(0.6)  # an alarm left behind when its filter was deleted
        for i in range(pairs):
            spec, v = filters[i % len(filters)], i // len(filters)
            region = self.regions[v % len(self.regions)]
            suffix = "" if v < len(self.regions) else "-" + self.variant(v // len(self.regions), "")[:-1]
            log_group = f"aws-cloudtrail-logs-{self.account}{suffix}"
            name = f"cis-{spec['name']}"
            namespace = "CISBenchmark" if not suffix else "CloudTrailMetrics"
            metric = spec["metric"] + suffix.replace("-", "_")
            if not (orphan and i == pairs - 1):
                records.append(self.metric_filter(region, log_group, name, spec["pattern"], metric, namespace))
            records.append(self.alarm(region, f"{name}{suffix}-alarm", spec, metric, namespace))
        if pairs >= 3:  # the same pattern twice: an old copy nobody deleted
            spec = filters[0]
            records.append(self.metric_filter(self.regions[0], f"aws-cloudtrail-logs-{self.account}",
                                              f"legacy-{spec['name']}", spec["pattern"], spec["metric"] + "Legacy",
                                              "CISBenchmark"))
        return records

    def metric_filter(self, region: str, log_group: str, name: str, pattern: str, metric: str,
                      namespace: str) -> dict:
        api = {"filterName": name, "logGroupName": log_group, "filterPattern": pattern,
               "metricTransformations": [{"metricName": metric, "metricNamespace": namespace, "metricValue": "1"}],
               "creationTime": int(self.created().timestamp() * 1000)}
        return self.record("cloudwatch_logs", "metric_filter", f"{log_group}:{name}", name, region, api)

    def alarm(self, region: str, name: str, spec: dict, metric: str, namespace: str) -> dict:
        topic = f"arn:aws:sns:{region}:{self.account}:security-alerts"
        broken = self.rng.random()
        api = {
            "AlarmName": name,
            "AlarmArn": f"arn:aws:cloudwatch:{region}:{self.account}:alarm:{name}",
            "AlarmDescription": spec["title"],
            "AlarmConfigurationUpdatedTimestamp": iso(self.created()),
            "ActionsEnabled": broken >= 0.04,  # 4 %: actions switched off during an incident and never back on
            "OKActions": [],
            "AlarmActions": [] if 0.04 <= broken < 0.08 else [topic],  # 4 %: nobody is notified
            "InsufficientDataActions": [],
            "StateValue": "OK",
            "StateReason": "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint "
                           "was treated as [NonBreaching].",
            "StateUpdatedTimestamp": iso(_at(EPOCH, 0)),
            "MetricName": metric,
            "Namespace": namespace,
            "Statistic": "Sum",
            "Dimensions": [],
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "StateTransitionedTimestamp": iso(_at(EPOCH, 0)),
        }
        history = [{"Timestamp": iso(_at(EPOCH, 0)),
                    "HistorySummary": "Alarm updated from INSUFFICIENT_DATA to OK"}]
        return self.record("cloudwatch", "metric_alarm", api["AlarmArn"], name, region, api,
                           {"alarm_history": history})

    # --- EventBridge -------------------------------------------------------------------------------------------

    def event_rules(self, budget: int) -> list[dict]:
        records = []
        for region in self.regions:  # findings are forwarded from every region
            for spec in catalog()["findings_rules"]:
                if len(records) < budget:
                    records.append(self.event_rule(region, spec["name"], spec["pattern"], "default"))
        rules = list(catalog()["event_rules"])
        self.rng.shuffle(rules)
        twin = budget >= 4  # the same pattern under two names: one team copied another's rule
        for i in range(max(0, budget - len(records) - twin)):
            spec, v = rules[i % len(rules)], i // len(rules)
            if spec.get("global"):
                region, copy_ = "us-east-1", v
            else:
                region, copy_ = self.regions[v % len(self.regions)], v // len(self.regions)
            pattern = {"source": [spec["source"]],
                       "detail-type": [spec.get("detail_type", "AWS API Call via CloudTrail")],
                       "detail": {"eventSource": [spec["event_source"]], "eventName": list(spec["events"])}}
            bus = "org-security-events" if self.kind == "security" and copy_ % 2 == 1 else "default"
            records.append(self.event_rule(region, self.variant(copy_, spec["name"]), pattern, bus))
        if twin:
            last = records[-1]
            records.append(self.event_rule(last["region"], last["name"] + "-copy",
                                           json.loads(last["api_object"]["EventPattern"]), "default"))
        return records

    def event_rule(self, region: str, name: str, pattern: dict, bus: str) -> dict:
        path = name if bus == "default" else f"{bus}/{name}"
        arn = f"arn:aws:events:{region}:{self.account}:rule/{path}"
        api = {"Name": name, "Arn": arn, "EventPattern": json.dumps(pattern),
               "State": "DISABLED" if self.chance(0.05) else "ENABLED",
               "Description": f"Alert on {name.replace('-', ' ')}", "EventBusName": bus}
        roll = self.rng.random()
        if roll < 0.04:
            targets = []  # matches, but goes nowhere
        elif roll < 0.25:
            targets = [{"Id": "responder", "Arn": f"arn:aws:lambda:{region}:{self.account}:function:security-responder"}]
        else:
            targets = [{"Id": "notify", "Arn": f"arn:aws:sns:{region}:{self.account}:security-alerts"}]
        return self.record("eventbridge", "event_rule", arn, name, region, api, {"targets": targets})

    # --- GuardDuty, Security Hub, Config, Logs Insights ----------------------------------------------------------

    def guardduty(self, region: str) -> dict:
        detector_id = format(stable_hash("detector", self.account, region), "016x") * 2
        off = set() if self.careful else {f for f in catalog()["guardduty_optional_features"] if self.chance(0.5)}
        updated = iso(self.created())
        features = [{"Name": f, "Status": "DISABLED" if f in off else "ENABLED", "UpdatedAt": updated}
                    for f in catalog()["guardduty_features"]]

        def status(feature: str) -> dict:
            return {"Status": "DISABLED" if feature in off else "ENABLED"}

        api = {
            "CreatedAt": iso(self.created()),
            "FindingPublishingFrequency": "FIFTEEN_MINUTES" if self.careful else "SIX_HOURS",
            "ServiceRole": f"arn:aws:iam::{self.account}:role/aws-service-role/guardduty.amazonaws.com/"
                           "AWSServiceRoleForAmazonGuardDuty",
            "Status": "DISABLED" if not self.careful and self.chance(0.03) else "ENABLED",
            "UpdatedAt": updated,
            "DataSources": {"CloudTrail": status("CLOUD_TRAIL"), "DNSLogs": status("DNS_LOGS"),
                            "FlowLogs": status("FLOW_LOGS"), "S3Logs": status("S3_DATA_EVENTS"),
                            "Kubernetes": {"AuditLogs": status("EKS_AUDIT_LOGS")},
                            "MalwareProtection": {"ScanEc2InstanceWithFindings": {
                                "EbsVolumes": status("EBS_MALWARE_PROTECTION")}}},
            "Tags": {},
            "Features": features,
            "DetectorId": detector_id,
        }
        filters = [{"Name": s["name"], "Description": "accepted noise", "Action": "ARCHIVE", "Rank": i + 1,
                    "FindingCriteria": {"Criterion": {"type": {"Eq": [s["finding_type"]]}}}, "Tags": {}}
                   for i, s in enumerate(catalog()["guardduty_suppressions"]) if self.chance(0.3)]
        return self.record("guardduty", "guardduty_detector", detector_id, detector_id, region, api,
                           {"suppression_filters": filters})

    def standards(self, region: str) -> list[tuple[str, dict]]:
        """(standard key, record) for each standard enabled in the region."""
        wanted = ["fsbp"] + (["cis"] if self.careful or self.chance(0.5) else [])
        found = []
        for key in wanted:
            spec = catalog()["securityhub"][key]
            standards_arn = (f"arn:aws:securityhub:{region}::{spec['standard']}" if key == "fsbp"
                             else f"arn:aws:securityhub:::{spec['standard']}")
            sub = f"arn:aws:securityhub:{region}:{self.account}:subscription/{spec['standard'].split('/', 1)[1]}"
            api = {"StandardsSubscriptionArn": sub, "StandardsArn": standards_arn, "StandardsInput": {},
                   "StandardsStatus": "READY", "StandardsControlsUpdatable": "READY_FOR_UPDATES"}
            found.append((key, self.record("securityhub", "securityhub_standard", sub,
                                           spec["standard"].split("/", 1)[1], region, api)))
        return found

    def controls(self, enabled: list[tuple[str, str]], budget: int) -> list[dict]:
        """Controls of the enabled (standard, region) pairs, round-robin so a small budget covers each."""
        lists = [(key, region, catalog()["securityhub"][key]["controls"]) for key, region in enabled]
        records: list[dict] = []
        for i in range(max((len(c) for _, _, c in lists), default=0)):
            for key, region, controls in lists:
                if i < len(controls) and len(records) < budget:
                    records.append(self.control(key, region, *controls[i]))
        return records

    def control(self, key: str, region: str, control_id: str, title: str, severity: str) -> dict:
        standard = catalog()["securityhub"][key]["standard"].split("/", 1)[1]
        arn = f"arn:aws:securityhub:{region}:{self.account}:control/{standard}/{control_id}"
        disabled = self.chance(0.04 if self.careful else 0.12)
        api = {"StandardsControlArn": arn, "ControlStatus": "DISABLED" if disabled else "ENABLED",
               "ControlStatusUpdatedAt": iso(self.created()), "ControlId": control_id, "Title": title,
               "Description": title + ".", "RemediationUrl":
               f"https://docs.aws.amazon.com/console/securityhub/{control_id}/remediation",
               "SeverityRating": severity, "RelatedRequirements": []}
        if disabled:
            api["DisabledReason"] = "Not applicable: handled by the platform team"
        return self.record("securityhub", "securityhub_control", arn, control_id, region, api)

    def config_rules(self, budget: int) -> list[dict]:
        rules = list(catalog()["config_rules"])
        self.rng.shuffle(rules)
        records = []
        capacity = len(rules) * len(self.regions) * 2  # each region: own rules, then a conformance pack's copies
        for i in range(min(budget, capacity)):
            spec, v = rules[i % len(rules)], i // len(rules)
            region = self.regions[v % len(self.regions)]
            pack = v >= len(self.regions)
            records.append(self.config_rule(region, spec, pack))
        return records

    def config_rule(self, region: str, spec: dict, pack: bool) -> dict:
        base = spec["id"].lower().replace("_", "-")
        suffix = format(stable_hash(self.account, region, spec["id"]), "x")[:6]
        name = f"{base}-conformance-pack-{suffix}" if pack else base
        rule_id = f"config-rule-{suffix}{'p' if pack else 'r'}"
        arn = f"arn:aws:config:{region}:{self.account}:config-rule/{rule_id}"
        roll = self.rng.random()
        state = "DELETING" if roll < 0.03 else "EVALUATING" if roll < 0.04 else "ACTIVE"
        api = {"ConfigRuleName": name, "ConfigRuleArn": arn, "ConfigRuleId": rule_id,
               "Description": f"AWS managed rule {spec['id']}",
               "Source": {"Owner": "AWS", "SourceIdentifier": spec["id"]}, "InputParameters": "{}",
               "ConfigRuleState": state}
        if spec["types"]:
            api["Scope"] = {"ComplianceResourceTypes": list(spec["types"])}
        else:
            api["MaximumExecutionFrequency"] = "TwentyFour_Hours"
        if pack:
            api["CreatedBy"] = "config-conforms.amazonaws.com"
        evaluated = iso(_at(EPOCH, 3600))
        status = {"ConfigRuleName": name, "ConfigRuleArn": arn, "ConfigRuleId": rule_id,
                  "LastSuccessfulInvocationTime": evaluated, "LastSuccessfulEvaluationTime": evaluated,
                  "FirstActivatedTime": iso(self.created()), "FirstEvaluationStarted": True}
        if self.chance(0.03):  # the rule runs but cannot evaluate: a silent failure
            status.update({"LastFailedInvocationTime": evaluated, "LastErrorCode": "AccessDenied",
                           "LastErrorMessage": "The role does not have permission to call the API"})
        return self.record("config", "config_rule", arn, name, region, api, {"evaluation_status": status})

    def queries(self, budget: int) -> list[dict]:
        records = []
        specs = catalog()["insights_queries"]
        for i in range(min(budget, len(specs) * len(self.regions))):
            spec, region = specs[i % len(specs)], self.regions[(i // len(specs)) % len(self.regions)]
            query_id = format(stable_hash("query", self.account, region, spec["name"]), "032x")
            query_id = f"{query_id[:8]}-{query_id[8:12]}-{query_id[12:16]}-{query_id[16:20]}-{query_id[20:32]}"
            api = {"queryLanguage": "CWLI", "queryDefinitionId": query_id, "name": f"security/{spec['name']}",
                   "queryString": spec["query"], "lastModified": int(self.created().timestamp() * 1000),
                   "logGroupNames": [f"aws-cloudtrail-logs-{self.account}"]}
            records.append(self.record("cloudwatch_logs", "logs_insights_query", query_id, api["name"], region, api))
        return records

    def build(self, total: int) -> list[dict]:
        records = []
        enabled = []
        for region in self.regions:
            records.append(self.guardduty(region))
            if self.careful or self.chance(0.9):
                for key, standard in self.standards(region):
                    records.append(standard)
                    enabled.append((key, region))
        rest = max(0, total - len(records))
        budgets = {k: int(rest * share) for k, share in SHARES.items()}
        made = {"controls": self.controls(enabled, budgets["controls"]),
                "metric_pairs": self.metric_pairs(budgets["metric_pairs"]),
                "config_rules": self.config_rules(budgets["config_rules"]),
                "queries": self.queries(max(1, budgets["queries"]))}
        used = sum(len(v) for v in made.values())
        made["event_rules"] = self.event_rules(max(0, rest - used))
        for family in ("metric_pairs", "event_rules", "controls", "config_rules", "queries"):
            records += made[family]
        return records


# --- tags: owner, environment, criticality (docs/export-layout.md) ------------------------------------------------

# Special accounts' (owner, environment, criticality); others follow their kind and team (catalog team_criticality).
SPECIAL_TAGS = {"management": ("cloud-platform", "production", "high"),
                "security": ("security-engineering", "production", "high"),
                "logging": ("security-engineering", "production", "medium")}
ENVIRONMENT_TAG = {"prod": "production", "staging": "staging", "dev": "development", "sandbox": "sandbox"}
TAGGED_TYPES = {"event_rule", "metric_alarm", "config_rule"}  # what ListTagsForResource is read for
LEVELS = ["low", "medium", "high"]


def account_tags(seed: int, index: int, name: str, kind: str) -> list[dict]:
    """The account's tags, from its profile and a hash (never the account's random stream: adding tags must not
    change a single generated detection). About one generated account in eight has none."""
    if kind in SPECIAL_TAGS:
        owner, environment, criticality = SPECIAL_TAGS[kind]
    else:
        if stable_hash("untagged-account", seed, index) % 8 == 0:
            return []
        owner = name.split("-")[1]
        environment = ENVIRONMENT_TAG[kind]
        rated = catalog()["team_criticality"].get(owner, "medium")
        cap = {"prod": "high", "staging": "medium"}.get(kind, "low")
        criticality = LEVELS[min(LEVELS.index(rated), LEVELS.index(cap))]
    return [{"Key": "owner", "Value": owner}, {"Key": "environment", "Value": environment},
            {"Key": "criticality", "Value": criticality}]


def tag_detections(records: list[dict], seed: int) -> None:
    """Tags on about 60 % of the event rules, alarms and Config rules, as ListTagsForResource returns them: an
    owner (the team a copied rule's name carries, else detection-engineering), some with managed-by."""
    teams = set(catalog()["teams"])
    for record in records:
        if record["detection_type"] not in TAGGED_TYPES:
            continue
        h = stable_hash("detection-tags", seed, record["account_id"], record["native_id"])
        if h % 10 >= 6:
            continue
        prefix = (record["name"] or "").split("-")[0]
        tags = [{"Key": "owner", "Value": prefix if prefix in teams else "detection-engineering"}]
        if h % 3 == 0:
            tags.append({"Key": "managed-by", "Value": "terraform"})
        record["api_object"]["Tags"] = tags


# --- day-to-day churn ---------------------------------------------------------------------------------------

def _edit(record: dict) -> None:
    """A configuration edit someone could make: the detection keeps its id, its content changes."""
    api, kind = record["api_object"], record["detection_type"]
    if kind == "metric_filter":
        api["filterPattern"] = api["filterPattern"].rstrip("} ") + ' && ($.userIdentity.type != "AWSService") }'
    elif kind == "event_rule":
        pattern = json.loads(api["EventPattern"])
        pattern.setdefault("detail", {})["userIdentity"] = {"type": [{"anything-but": "AWSService"}]}
        api["EventPattern"] = json.dumps(pattern)
    elif kind == "metric_alarm":
        api["Threshold"], api["EvaluationPeriods"] = 3.0, 2
    elif kind == "config_rule":
        api["InputParameters"] = '{"maxCredentialUsageAge":"45"}'
    elif kind == "guardduty_detector":
        api["FindingPublishingFrequency"] = "ONE_HOUR"
    elif kind == "securityhub_control":
        _disable(record)
    elif kind == "logs_insights_query":
        api["queryString"] += " | limit 500"


def _disable(record: dict) -> None:
    api, kind = record["api_object"], record["detection_type"]
    if kind == "event_rule":
        api["State"] = "ENABLED" if api["State"] == "DISABLED" else "DISABLED"
    elif kind == "metric_alarm":
        api["ActionsEnabled"] = not api["ActionsEnabled"]
    elif kind == "securityhub_control":
        api["ControlStatus"] = "ENABLED" if api["ControlStatus"] == "DISABLED" else "DISABLED"
    elif kind == "config_rule":
        api["ConfigRuleState"] = "DELETING"
    elif kind == "guardduty_detector":
        api["Features"] = [{**f, "Status": "DISABLED"} if f["Name"] == "S3_DATA_EVENTS" else f
                           for f in api["Features"]]
    else:
        _edit(record)


REMOVABLE = {"metric_filter", "event_rule", "metric_alarm", "config_rule", "logs_insights_query"}
COPYABLE = {"event_rule", "config_rule"}


def _copy(record: dict) -> dict:
    twin = copy.deepcopy(record)
    api = twin["api_object"]
    if twin["detection_type"] == "event_rule":
        api["Name"] += "-hotfix"
        api["Arn"] += "-hotfix"
        twin["native_id"], twin["name"] = api["Arn"], api["Name"]
    else:
        api["ConfigRuleName"] += "-hotfix"
        api["ConfigRuleArn"] += "h"
        twin["native_id"], twin["name"] = api["ConfigRuleArn"], api["ConfigRuleName"]
        twin["related"]["evaluation_status"].update(ConfigRuleName=api["ConfigRuleName"],
                                                    ConfigRuleArn=api["ConfigRuleArn"])
    return twin


def churn(records: list[dict], seed: int, day: date) -> list[dict]:
    """The account as it looks on `day`: a few detections changed, alarms in the state of that day."""
    n = (day - EPOCH).days
    out = []
    for record in records:
        h = stable_hash(seed, record["account_id"], record["region"], record["native_id"])
        if record["detection_type"] == "metric_alarm":
            _alarm_state(record, n, day, (h >> 40) % ALARM_PERIOD)
        if (n - h % CHURN_PERIOD) % CHURN_PERIOD >= CHURN_DAYS:
            out.append(record)
            continue
        action = (h >> 20) % 4
        if action == 0:
            _disable(record)
        elif action == 1 or (action == 2 and record["detection_type"] not in REMOVABLE):
            _edit(record)
        elif action == 2:
            continue  # removed for a few days
        elif record["detection_type"] in COPYABLE:
            out.append(_copy(record))
        else:
            _edit(record)
        out.append(record)
    return out


def _alarm_state(record: dict, n: int, day: date, phase: int) -> None:
    """Runtime state: the alarm fires one day in ALARM_PERIOD and recovers the next."""
    api = record["api_object"]
    firing = (n - phase) % ALARM_PERIOD == 0
    recovered = (n - phase) % ALARM_PERIOD == 1
    history = record["related"].setdefault("alarm_history", [])
    if firing or recovered:
        fired = _at(day - timedelta(days=1 if recovered else 0), 3600 + phase * 60)
        history.insert(0, {"Timestamp": iso(fired), "HistorySummary": "Alarm updated from OK to ALARM"})
        api.update(StateValue="ALARM", StateUpdatedTimestamp=iso(fired), StateTransitionedTimestamp=iso(fired),
                   StateReason="Threshold Crossed: 1 datapoint [1.0] was greater than or equal to the threshold (1.0).")
    if recovered:
        back = _at(day, 3600 + phase * 60)
        history.insert(0, {"Timestamp": iso(back), "HistorySummary": "Alarm updated from ALARM to OK"})
        api.update(StateValue="OK", StateUpdatedTimestamp=iso(back), StateTransitionedTimestamp=iso(back))


# --- the organization ---------------------------------------------------------------------------------------

def generate(accounts: int, detections_per_account: int, seed: int = 7,
             day: date | None = None) -> Iterator[SampleAccount]:
    """The sample organization, one account at a time (nothing of earlier accounts is kept)."""
    for index in range(accounts):
        rng = random.Random(f"dcv-sample|{seed}|{index}")
        name, kind, regions = _profile(rng, index)
        acct = account_id(seed, index)
        status = "SUSPENDED" if index >= 10 and rng.random() < 0.02 else "ACTIVE"
        joined = iso(_at(EPOCH, 0) - timedelta(days=rng.randint(100, 2000)))
        total = round(detections_per_account * rng.uniform(0.9, 1.1))
        records: list[dict] = []
        if status == "ACTIVE" and total > 0:
            records = Builder(seed, index, acct, kind, regions, rng).build(total)
            tag_detections(records, seed)
            if day is not None:
                records = churn(records, seed, day)
        yield SampleAccount(acct, name, status, regions, records, email=f"aws+{name}@example.com", joined=joined,
                            joined_method="CREATED" if index == 0 or rng.random() < 0.8 else "INVITED",
                            tags=account_tags(seed, index, name, kind))
