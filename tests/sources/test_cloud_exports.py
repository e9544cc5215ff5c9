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


def test_projects_and_subscriptions_describe_themselves_verbatim():
    """gcloud projects describe / az account show, with the ancestors and tags files added, become accounts with
    a name, their organization (the Google Cloud organization, the Microsoft Entra tenant) and their status."""
    entries, rejects = cloud_exports.read_listings(exports.tree_for(FIXTURE))
    assert rejects == []
    (gcp, project), (azure, subscription) = entries
    assert (gcp, azure) == ("gcp", "azure")
    assert project["labels"]["environment"] == "production"  # verbatim, as gcloud printed it
    assert project["ancestors"][-1] == {"id": "482759301625", "type": "organization"}
    assert subscription["tags"] == {"Environment": "dev", "Owner": "identity-team"}
    assert subscription["user"]["type"] == "servicePrincipal"
    assert cloud_exports.listed_account(gcp, project) == (PROJECT, "Fixture Project", "482759301625", "ACTIVE")
    assert cloud_exports.listed_account(azure, subscription) == (
        SUBSCRIPTION, "Fixture Subscription", "c4e1f0a2-9b3d-4e5f-8a6b-2d7c9e1f3a40", "Enabled")
    # a project directly under its organization needs no ancestors file; one without a parent has no organization
    assert cloud_exports.listed_account("gcp", {"projectId": PROJECT, "parent": {"type": "organization", "id": "7"}}
                                        )[2] == "7"
    assert cloud_exports.listed_account("gcp", {"projectId": PROJECT})[2] is None
    # the listing files are no detection scope: the folder's scopes are what they were
    scopes = [s for s in exports.read_account_scopes(exports.tree_for(FIXTURE), SUBSCRIPTION, {})
              if not isinstance(s, Reject)]
    assert {s.key for s in scopes} == {"global/azure_monitor", "global/sentinel", "global/defender_for_cloud"}


def test_a_bad_description_is_rejected_by_name_and_the_folder_still_loads(tmp_path):
    project = tmp_path / "projects" / PROJECT
    subscription = tmp_path / "subscriptions" / SUBSCRIPTION
    other = tmp_path / "projects" / "other-project-02"
    for folder, source in ((project, FIXTURE / "projects" / PROJECT),
                           (subscription, FIXTURE / "subscriptions" / SUBSCRIPTION), (other, None)):
        folder.mkdir(parents=True)
        for f in source.iterdir() if source else ():
            (folder / f.name).write_bytes(f.read_bytes())
    (project / "projects-describe.json").write_text('{"projectId": "someone-elses", "name": "x"}')
    (subscription / "tag-list.json").write_text('{"properties": {"tags": ["prod"]}}')
    (other / "projects-describe.json").write_text("{not json")
    entries, rejects = cloud_exports.read_listings(exports.tree_for(tmp_path))
    reasons = {r.object_ref.removeprefix(str(tmp_path) + "/"): r.reason for r in rejects}
    assert reasons == {
        f"projects/{PROJECT}/projects-describe.json":
            f"projectId someone-elses is not the folder's project {PROJECT} (gcloud projects describe --format=json)",
        "projects/other-project-02/projects-describe.json": reasons["projects/other-project-02/projects-describe.json"],
        f"subscriptions/{SUBSCRIPTION}/tag-list.json":
            "expected the tags resource: an object with 'properties': {'tags': {...}} "
            "(az tag list --resource-id /subscriptions/<id>)",
    }
    assert reasons["projects/other-project-02/projects-describe.json"].startswith("not valid JSON")
    # the subscription is described without its tags; the projects are named by their id
    assert [(p, e.get("name"), "tags" in e) for p, e in entries] == [("azure", "Fixture Subscription", False)]
    # and the folders' detections load all the same
    records = [r for r in exports.read_export(tmp_path) if isinstance(r, dict)]
    assert {r["account_id"] for r in records} == {PROJECT, SUBSCRIPTION}


def test_a_snapshot_keeps_the_descriptions():
    entries, _ = cloud_exports.read_listings(exports.tree_for(FIXTURE))
    kept = {"Accounts": [], **cloud_exports.snapshot_listings(entries)}
    assert cloud_exports.parse_snapshot_listings(kept, "snap") == (entries, [])
    kept["Projects"].append({"projectId": "Not A Project"})
    _, rejects = cloud_exports.parse_snapshot_listings(kept, "snap")
    assert [(r.object_ref, r.reason) for r in rejects] == [
        ("snap#Projects[1]", "'projectId' must be a Google Cloud project id")]
