"""AWS managed detections: GuardDuty detectors, Security Hub standards/controls, Config rules."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from dagster_project.lib.parsing.model import EXACT, PREFIX, TEXT, Builder, ParsedLogic

GUARDDUTY_YAML = Path(__file__).with_name("guardduty_feature_findings.yaml")
FOUNDATIONAL = ("CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS")  # on whenever the detector is


@functools.cache
def guardduty_knowledge() -> dict[str, Any]:
    return yaml.safe_load(GUARDDUTY_YAML.read_text())


def _enabled(status: Any) -> bool:
    return str(status or "").upper() == "ENABLED"


def enabled_features(api_object: dict[str, Any]) -> tuple[list[str], bool]:
    """Feature names the detector has on, and whether that came from the API (False = assumed).

    `Features` is what GetDetector reports today and decides alone where present; the deprecated `DataSources`
    block is read only when `Features` is absent (older API versions and exports): GetDetector still returns
    both, and they can disagree (a protection switched off in Features stays ENABLED in DataSources)."""
    known = guardduty_knowledge()
    alias = known.get("aliases") or {}
    found: list[str] = []
    for f in api_object.get("Features") or []:
        if isinstance(f, dict) and _enabled(f.get("Status")):
            found.append(alias.get(f.get("Name"), f.get("Name")))
            for extra in f.get("AdditionalConfiguration") or []:
                if isinstance(extra, dict) and _enabled(extra.get("Status")) and "RUNTIME" in str(extra.get("Name")):
                    found.append("RUNTIME_MONITORING")
    if "Features" in api_object:
        return list(dict.fromkeys(found or FOUNDATIONAL)), True
    for path, feature in (known.get("data_sources") or {}).items():
        node: Any = api_object.get("DataSources") or {}
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and (_enabled(node.get("Status")) or _enabled(
                (node.get("EbsVolumes") or {}).get("Status") if isinstance(node.get("EbsVolumes"), dict) else None)):
            found.append(feature)
    if found:
        return list(dict.fromkeys(found)), True
    return list(FOUNDATIONAL), False


def guardduty_detector(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    status = str(api_object.get("Status") or "").upper()
    if status != "ENABLED":
        b.doubt("detector disabled" if status == "DISABLED" else f"detector status {status or 'unknown'}", 0.0)
        return b.build({"status": status}, confidence=0.0)
    features, reported = enabled_features(api_object)
    if not reported:
        b.doubt("no Features/DataSources reported: foundational sources assumed", 0.5)
    families = guardduty_knowledge()["features"]
    for feature in features:
        b.entity("features", feature)
        if feature not in families:
            b.note(f"feature {feature} has no known finding families")
        for value in families.get(feature, []):
            qualifier = "prefix" if value.endswith("/") else "exact"
            b.signal("finding_type", value, qualifier, PREFIX if qualifier == "prefix" else EXACT)
    return b.build({"status": status, "features": features,
                    "finding_publishing_frequency": api_object.get("FindingPublishingFrequency")})


def standard_short_name(arn: str) -> str:
    """`arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/1.4.0`
    -> `cis-aws-foundations-benchmark/v/1.4.0` (legacy `ruleset/...` ARNs alike)."""
    m = re.search(r":(?:standards|ruleset)/(.+)$", arn or "")
    return m.group(1) if m else (arn or "")


def securityhub_standard(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    arn = str(api_object.get("StandardsArn") or "")
    status = str(api_object.get("StandardsStatus") or "").upper()
    if not arn:
        b.doubt("no StandardsArn", 0.0)
    elif status in ("DELETING", "FAILED"):
        b.doubt(f"standard {status.lower()}", 0.0)
    else:
        b.signal("standard", standard_short_name(arn), confidence=0.8)
        if status and status != "READY":
            b.note(f"standard status {status}")
    return b.build({"standards_arn": arn, "status": status})


def securityhub_control(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    control = api_object.get("SecurityControlId") or api_object.get("ControlId")
    status = str(api_object.get("ControlStatus") or api_object.get("SecurityControlStatus") or "").upper()
    if not control:
        b.doubt("no ControlId", 0.0)
    elif status == "DISABLED":
        b.doubt("control disabled", 0.0)
    else:
        b.signal("control", str(control), confidence=EXACT)
    return b.build({"control_id": control, "status": status},
                   severity=api_object.get("SeverityRating"))


def config_rule(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    custom = None
    source = api_object.get("Source") or {}
    owner, identifier = source.get("Owner"), source.get("SourceIdentifier")
    scope = api_object.get("Scope") or {}
    for resource_type in scope.get("ComplianceResourceTypes") or []:
        b.entity("resources", resource_type)
    if owner == "AWS" and identifier:
        b.signal("config_rule", identifier, confidence=EXACT)
    elif owner in ("CUSTOM_LAMBDA", "CUSTOM_POLICY"):
        # Custom logic lives in a Lambda function or a Guard policy we do not read
        b.entity("custom_rules", str(api_object.get("ConfigRuleName") or identifier or ""))
        b.note(f"custom rule ({owner}): its logic is not parsed")
        custom = TEXT
    else:
        b.doubt(f"unknown rule owner {owner!r}", 0.0)
    state = api_object.get("ConfigRuleState")
    if state and state != "ACTIVE":
        b.note(f"rule state {state}")
    return b.build({"owner": owner, "source_identifier": identifier, "scope": scope,
                    "input_parameters": api_object.get("InputParameters"),
                    "maximum_execution_frequency": api_object.get("MaximumExecutionFrequency")},
                   confidence=custom)
