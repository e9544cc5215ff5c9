"""Google Cloud projects and Azure subscriptions read from an export directory (docs/export-layout.md)."""

from collections import Counter
from pathlib import Path

from dagster_project.lib.sources import cloud_exports, exports
from dagster_project.lib.sources.accounts import Reject

FIXTURE = Path(__file__).parents[1] / "fixtures" / "exports" / "clouds"
PROJECT = "fixture-project-01"
SUBSCRIPTION = "0b7c1e2a-3d4f-4a5b-8c6d-7e8f9a0b1c2d"


def _read():
    items = list(exports.read_export(FIXTURE))
    return [i for i in items if isinstance(i, dict)], [i for i in items if isinstance(i, Reject)]


def test_projects_and_subscriptions_load_beside_aws_accounts_with_their_provider():
    records, _ = _read()
    assert Counter((r["provider"], r["account_id"], r["detection_type"]) for r in records) == {
        ("gcp", PROJECT, "log_metric"): 3, ("gcp", PROJECT, "alert_policy"): 2, ("gcp", PROJECT, "scc_service"): 1,
        ("azure", SUBSCRIPTION, "activity_log_alert"): 2, ("azure", SUBSCRIPTION, "sentinel_rule"): 1,
        ("azure", SUBSCRIPTION, "defender_plan"): 2,
    }
    assert {r["region"] for r in records} == {"global"}
    by_name = {r["name"]: r for r in records}
    # side files joined as AWS's are: a policy's channels, an alert's action groups (verbatim, as listed)
    assert [c["type"] for c in by_name["SA key created"]["related"]["notification_channels"]] == ["email"]
    assert by_name["Instance deletes"]["related"] == {"notification_channels": []}
    assert [g["name"] for g in by_name["nsg"]["related"]["action_groups"]] == ["ag-soc"]
    assert by_name["Privileged role added"]["api_object"]["properties"]["techniques"] == ["T1098"]


def test_each_bad_file_directory_or_item_is_rejected_by_name_and_the_rest_loads():
    _, rejects = _read()
    reasons = {r.object_ref.removeprefix(str(FIXTURE) + "/"): r.reason for r in rejects}
    assert reasons.pop("projects/Bad_Project") == "directory name is not a Google Cloud project id"
    assert reasons.pop(f"projects/{PROJECT}/logging-metrics-list.json#[3]") == "item lacks filter"
    assert reasons.pop(f"projects/{PROJECT}/logging-sinks-list.json").startswith("unknown export file name")
    assert reasons.pop(f"subscriptions/{SUBSCRIPTION}/monitor-scheduled-query-list.json").startswith("not valid JSON")
    assert reasons == {}


def test_unchanged_scopes_are_skipped_by_digest():
    tree = exports.tree_for(FIXTURE)
    first = [s for s in exports.read_account_scopes(tree, PROJECT, {}) if not isinstance(s, Reject)]
    assert {s.key for s in first} == {"global/cloud_logging", "global/cloud_monitoring", "global/security_command_center",
                                      "global/"}
    known = {s.key: s.digest for s in first if s.service}
    again = [s for s in exports.read_account_scopes(tree, PROJECT, known) if not isinstance(s, Reject)]
    assert all(s.skipped and not s.items for s in again if s.service)


def test_provider_of_an_account_id():
    assert cloud_exports.provider_of("123456789012") is None
    assert cloud_exports.provider_of(PROJECT) == "gcp"
    assert cloud_exports.provider_of(SUBSCRIPTION) == "azure"


def test_sentinel_rules_declare_their_techniques():
    records, _ = _read()
    rule = next(r for r in records if r["detection_type"] == "sentinel_rule")
    assert cloud_exports.declared_tags(rule) == [("T1098", "techniques:T1098")]
    assert cloud_exports.declared_tags(next(r for r in records if r["detection_type"] == "log_metric")) == []
