"""Parsers for Google Cloud (Logging query language, alert policies, SCC) and Azure (KQL, Activity Log alerts,
Defender plans): what each detection watches, as the signals the mapping joins on."""

import pytest

from dagster_project.lib.parsing import parse
from dagster_project.lib.parsing.gcp_logging import QueryError, method_name, parse_filter


def signals(detection_type, api_object):
    logic = parse(detection_type, {"api_object": api_object, "related": {}})
    return {(s.signal_type, s.value, s.qualifier) for s in logic.signals}, logic


def test_method_names_are_lower_case_without_the_api_version_segment():
    assert method_name("v1.compute.instances.insert") == method_name("beta.compute.instances.insert") \
        == "compute.instances.insert"
    assert method_name("v*.Compute.Firewalls.Delete") == "compute.firewalls.delete"
    assert method_name("io.k8s.core.v1.secrets.get") == "io.k8s.core.v1.secrets.get"  # a version inside stays


def test_logging_filter_required_methods_exact_substring_regex_and_exclusions():
    found, logic = signals("log_metric", {"name": "m", "filter": """
        resource.type="gce_firewall_rule"
        (protoPayload.methodName:"compute.firewalls.patch" OR
         protoPayload.methodName=("v1.compute.firewalls.insert" OR "beta.compute.firewalls.delete"))
        NOT protoPayload.methodName="v1.compute.firewalls.get"
        -protoPayload.authenticationInfo.principalEmail:"terraform@" """})
    assert found == {("method", "%compute.firewalls.patch%", "like"), ("method", "compute.firewalls.insert", "exact"),
                     ("method", "compute.firewalls.delete", "exact"),
                     ("metric", "logging.googleapis.com/user/m", "exact")}
    assert logic.monitored_entities["resource_types"] == ["gce_firewall_rule"]
    found, _ = signals("log_metric", {"name": "m", "filter": 'protoPayload.methodName=~"^(SetIamPolicy|storage.setIamPermissions)$"'})
    assert ("method", "setiampolicy", "exact") in found and ("method", "storage.setiampermissions", "exact") in found


def test_patterns_on_a_verb_or_a_whole_namespace_claim_nothing():
    found, logic = signals("log_metric", {"name": "m", "filter": (
        'protoPayload.methodName=~"^admissionregistration\\.k8s\\.io\\.v" protoPayload.methodName=~"create$" '
        'protoPayload.methodName:"storage."')})
    assert found == {("method", "admissionregistration.k8s.io.v%", "like"),
                     ("metric", "logging.googleapis.com/user/m", "exact")}
    assert "name pattern too broad to map: %create" in logic.reason


def test_a_filter_that_cannot_be_read_fails_with_a_reason():
    with pytest.raises(QueryError):
        parse_filter('protoPayload.methodName="x" AND (')
    logic = parse("log_metric", {"api_object": {"name": "m", "filter": 'protoPayload.methodName="x" AND ('}})
    assert logic.parse_confidence == 0 and logic.reason.startswith("Logging filter not read")


def test_alert_policies_watch_user_metrics_or_match_logs():
    found, logic = signals("alert_policy", {"name": "p", "notificationChannels": ["c"], "conditions": [
        {"conditionThreshold": {"filter": 'metric.type="logging.googleapis.com/user/sa-key" resource.type="global"'}},
        {"conditionMatchedLog": {"filter": 'protoPayload.methodName="google.iam.admin.v1.CreateServiceAccount"'}}]})
    assert found == {("metric", "logging.googleapis.com/user/sa-key", "exact"),
                     ("method", "google.iam.admin.v1.createserviceaccount", "exact")}
    assert logic.actions == ["c"]


def test_scc_services_and_defender_plans_are_finding_families_when_on():
    found, _ = signals("scc_service", {"name": "projects/p/locations/global/securityCenterServices/event-threat-detection",
                                       "effectiveEnablementState": "ENABLED"})
    assert found == {("finding_type", "scc:EVENT_THREAT_DETECTION", "exact")}
    found, logic = signals("scc_service", {"name": "x/container-threat-detection", "effectiveEnablementState": "DISABLED"})
    assert found == set() and logic.reason == "service DISABLED"  # read, and off: its status says so
    assert signals("defender_plan", {"name": "Arm", "pricingTier": "Standard"})[0] == {
        ("finding_type", "defender:Arm", "exact")}
    assert signals("defender_plan", {"name": "StorageAccounts", "pricingTier": "Free"})[0] == set()


def test_kql_operation_tests_lists_patterns_and_exclusions():
    found, logic = signals("scheduled_query_rule", {"criteria": {"allOf": [{"query": """
        let ops = dynamic(["Microsoft.Authorization/roleAssignments/write", "MICROSOFT.AUTHORIZATION/ROLEDEFINITIONS/WRITE"]);
        AzureActivity // role changes
        | where OperationNameValue in~ (ops) or OperationNameValue startswith "Microsoft.Network/networkSecurityGroups"
        | where OperationNameValue !has "read" and OperationNameValue endswith "/write"
        """}]}})
    # a pattern on the verb alone (/write) says nothing of what is acted on: no signal, and the parse says why
    assert found == {("operation", "microsoft.authorization/roleassignments/write", "exact"),
                     ("operation", "microsoft.authorization/roledefinitions/write", "exact"),
                     ("operation", "microsoft.network/networksecuritygroups%", "like")}
    assert "name pattern too broad to map: %/write" in logic.reason
    assert logic.monitored_entities["tables"] == ["AzureActivity"]


def test_kql_risk_event_type_tests_are_entra_id_protection_finding_types():
    found, _ = signals("sentinel_rule", {"properties": {"query": """
        AADUserRiskEvents
        | where RiskEventType in~ ("unlikelyTravel", "passwordSpray") and RiskEventType != "leakedCredentials"
        | where RiskEventType contains "Travel"
        """}})
    # exact tests name a risk detection (lower case, as the seeds write them); an exclusion or a pattern names none
    assert found == {("finding_type", "entra_id_protection:unlikelytravel", "exact"),
                     ("finding_type", "entra_id_protection:passwordspray", "exact")}


def test_sentinel_rules_are_read_from_their_query_never_their_declared_techniques():
    rule = {"kind": "Scheduled", "properties": {"query": 'AuditLogs | where OperationName == "Add member to role"',
                                                "tactics": ["Persistence"], "techniques": ["T1098"]}}
    found, _ = signals("sentinel_rule", rule)
    assert found == {("operation", "add member to role", "exact")}
    del rule["properties"]["techniques"]
    assert signals("sentinel_rule", rule)[0] == found  # labels do not reach inference
    _, fusion = signals("sentinel_rule", {"kind": "Fusion", "properties": {"enabled": True}})
    assert fusion.parse_confidence == 0 and "no query" in fusion.reason


def test_activity_log_alert_conditions():
    found, logic = signals("activity_log_alert", {"condition": {"allOf": [
        {"field": "category", "equals": "Administrative"},
        {"anyOf": [{"field": "operationName", "equals": "Microsoft.Compute/virtualMachines/delete"},
                   {"field": "operationName", "containsAny": ["Microsoft.Compute/snapshots/write"]}]}]},
        "actions": {"actionGroups": [{"actionGroupId": "/ag"}]}})
    assert found == {("operation", "microsoft.compute/virtualmachines/delete", "exact"),
                     ("operation", "microsoft.compute/snapshots/write", "exact")}
    assert logic.actions == ["/ag"] and logic.monitored_entities["categories"] == ["Administrative"]
