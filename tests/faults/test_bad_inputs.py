"""The fault catalogue: bad inputs of every kind, each through the real Dagster asset that reads it.

For each case, one table row: how the input is broken, what the quarantine must name (object and reason) and
what must still hold. Every case asserts the three things a user relies on (docs/reliability.md):
- message: the asset succeeds and raw.quarantine names the file/object and why;
- quarantine: the row is stored (NUL bytes and binary excerpts included);
- nothing lost: every detection, ATT&CK version or knowledge file loaded before is still there, unchanged (a
  scope that could not be read is "not scanned", its scan `partial`), and the rest of the input still loads.

Export and rule-repository cases each load their own scan day (baseline day + case number) after one clean
baseline day, in one warehouse; ATT&CK and knowledge cases load a good file beside the bad one.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from dagster_project.defs.attack.assets import attack_bundles, knowledge_documents
from dagster_project.defs.detections.assets import detections, org_accounts
from dagster_project.defs.resources import WarehouseResource

FIXTURES = Path(__file__).parents[1] / "fixtures"
SMALL = FIXTURES / "exports" / "small"
BUNDLE_V1, BUNDLE_V2 = FIXTURES / "attack" / "fixture-attack-1.0.json", FIXTURES / "attack" / "fixture-attack-2.0.json"
TRAILDISCOVER = FIXTURES / "traildiscover"
BASELINE = date(2026, 3, 1)
A1, A2 = "accounts/111111111111/us-east-1", "accounts/222222222222/eu-west-1"


# --- the inputs: a clean export (the small fixture with its two deliberately bad files repaired), two rule repos --

def clean_export(root: Path) -> None:
    shutil.copytree(SMALL, root)
    rules = root / A1 / "config-describe-config-rules.json"
    rules.write_text(json.dumps({"ConfigRules": [{
        "ConfigRuleName": "root-account-mfa-enabled",
        "ConfigRuleArn": "arn:aws:config:us-east-1:111111111111:config-rule/config-rule-abc123",
        "Source": {"Owner": "AWS", "SourceIdentifier": "ROOT_ACCOUNT_MFA_ENABLED"}, "ConfigRuleState": "ACTIVE"}]},
        indent=4))
    standards = root / A2 / "securityhub-get-enabled-standards.json"
    standards.write_text(json.dumps({"StandardsSubscriptions": json.loads(standards.read_text())}, indent=4))


SIGMA_RULE = """title: {title}
id: {id}
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: {event}
    condition: selection
tags:
    - attack.t1098
"""

ELASTIC_RULE = """[metadata]
creation_date = "2024/01/01"

[rule]
rule_id = "{id}"
name = "{name}"
description = "fixture"
type = "query"
language = "kuery"
query = 'event.dataset:aws.cloudtrail and event.action:{action}'
"""


def clean_repos(sigma: Path, elastic: Path) -> None:
    for folder in (sigma, elastic):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for n, event in enumerate(("CreateUser", "CreateAccessKey", "AttachUserPolicy")):
        (sigma / f"rule_{n}.yml").write_text(SIGMA_RULE.format(title=f"IAM {event}", id=f"0000000{n}-aaaa-bbbb-cccc-"
                                                                                       f"000000000000", event=event))
    for n, action in enumerate(("StopLogging", "DeleteTrail")):
        (elastic / f"rule_{n}.toml").write_text(ELASTIC_RULE.format(id=f"e{n}", name=f"CloudTrail {action}",
                                                                    action=action))


def a_legitimate_change(root: Path) -> None:
    """What the day really changed beside the fault: a new Security Hub control in the other account."""
    controls = root / A2 / "securityhub-describe-standards-controls.0.json"
    document = json.loads(controls.read_text())
    document["Controls"].append({**document["Controls"][0], "ControlId": "IAM.99", "StandardsControlArn":
                                 document["Controls"][0]["StandardsControlArn"].replace("IAM.6", "IAM.99")})
    controls.write_text(json.dumps(document, indent=4))


NEW_CONTROL = "arn:aws:securityhub:eu-west-1:222222222222:control/aws-foundational-security-best-practices/v/1.0.0/IAM.99"


# --- mutations --------------------------------------------------------------------------------------------------

def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=4))


def gzip_truncated(export, sigma, elastic):
    alarms = export / A1 / "cloudwatch-describe-alarms.json"
    (alarms.parent / (alarms.name + ".gz")).write_bytes(gzip.compress(alarms.read_bytes())[:150])
    alarms.unlink()


def gzip_not_gzip(export, sigma, elastic):
    rules = export / A1 / "events-list-rules.default.json"
    (rules.parent / (rules.name + ".gz")).write_bytes(rules.read_bytes())
    rules.unlink()


def nul_in_alarm(export, sigma, elastic):
    edit_json(export / A1 / "cloudwatch-describe-alarms.json",
              lambda d: d["MetricAlarms"][0].update(AlarmDescription="root\u0000usage"))


def nul_in_rule_name(export, sigma, elastic):
    edit_json(export / A1 / "events-list-rules.default.json", lambda d: d["Rules"][0].update(Description="a\u0000b"))


def nul_in_history(export, sigma, elastic):
    edit_json(export / A1 / "cloudwatch-describe-alarm-history.json",
              lambda d: d["AlarmHistoryItems"][0].update(HistorySummary="\u0000"))


def nul_in_a_key(export, sigma, elastic):
    edit_json(export / A1 / "logs-describe-metric-filters.json",
              lambda d: d["metricFilters"][0].update({"odd\u0000key": 1}))


def raw_nul_byte(export, sigma, elastic):
    path = export / A1 / "logs-describe-metric-filters.json"
    path.write_bytes(path.read_bytes().replace(b"cis-root-account-usage", b"cis-root\x00account-usage", 1))


def duplicate_arn(export, sigma, elastic):
    def duplicate(d):
        d["MetricAlarms"].append({**d["MetricAlarms"][0], "Threshold": 99.0, "AlarmActions": []})
    edit_json(export / A1 / "cloudwatch-describe-alarms.json", duplicate)


def misnamed_region(export, sigma, elastic):
    (export / A1).rename(export / "accounts" / "111111111111" / "US-East-1")


def misnamed_account(export, sigma, elastic):
    (export / "accounts" / "111111111111").rename(export / "accounts" / "mgmt-111111111111")


def invalid_json(export, sigma, elastic):
    path = export / A1 / "events-list-rules.default.json"
    path.write_text(path.read_text()[:-40])


def empty_file(export, sigma, elastic):
    (export / A1 / "logs-describe-metric-filters.json").write_bytes(b"")


def bad_utf8(export, sigma, elastic):
    path = export / A1 / "logs-describe-metric-filters.json"
    path.write_bytes(path.read_bytes().replace(b"cis-root", b"cis-\xff\xfe", 1))


def wrong_shape(export, sigma, elastic):
    (export / A1 / "cloudwatch-describe-alarms.json").write_text("[]")


def item_lacks_arn(export, sigma, elastic):
    edit_json(export / A1 / "cloudwatch-describe-alarms.json", lambda d: d["MetricAlarms"][1].pop("AlarmArn"))


def arn_not_a_string(export, sigma, elastic):
    edit_json(export / A1 / "events-list-rules.default.json", lambda d: d["Rules"][1].update(Arn={"arn": 1}))


def typo_in_file_name(export, sigma, elastic):
    (export / A1 / "cloudwatch-describe-alarms.json").rename(export / A1 / "cloudwatch-describe-alrams.json")


def json_and_gz_twice(export, sigma, elastic):
    path = export / A1 / "logs-describe-metric-filters.json"
    (path.parent / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))


def detector_not_an_object(export, sigma, elastic):
    (export / A1 / "guardduty-get-detector.12abc34d567e8fa901bc2d34eexample.json").write_text('"ENABLED"')


def targets_file_broken(export, sigma, elastic):
    (export / A1 / "events-list-targets-by-rule.default.iam-access-key-created.json").write_text('{"Targets": 3}')


def guardduty_filter_broken(export, sigma, elastic):
    (export / A1 / "guardduty-get-filter.12abc34d567e8fa901bc2d34eexample.suppress-port-probes.json").write_text("{")


def tag_file_with_nul(export, sigma, elastic):
    (export / A1 / "resourcegroupstaggingapi-get-resources.json").write_text(json.dumps({"ResourceTagMappingList": [
        {"ResourceARN": "arn:aws:cloudwatch:us-east-1:111111111111:alarm:cis-root-account-usage-alarm",
         "Tags": [{"Key": "owner", "Value": "sec\u0000ops"}]}]}))


def account_listing_with_nul(export, sigma, elastic):
    edit_json(export / "organizations" / "list-accounts.json", lambda d: d["Accounts"][1].update(Name="prod\u0000"))


def sigma_invalid_yaml(export, sigma, elastic):
    (sigma / "rule_1.yml").write_text("title: [unclosed\nid: x\n")


def sigma_nul(export, sigma, elastic):
    path = sigma / "rule_0.yml"
    path.write_text(path.read_text().replace("title: IAM CreateUser", 'title: "IAM \\0 CreateUser"'))


def sigma_duplicate_id(export, sigma, elastic):
    (sigma / "rule_9.yml").write_text(SIGMA_RULE.format(title="Copy", id="00000002-aaaa-bbbb-cccc-000000000000",
                                                        event="DeleteUser"))


def sigma_a_list(export, sigma, elastic):
    (sigma / "rule_2.yml").write_text("- one\n- two\n")


def elastic_invalid_toml(export, sigma, elastic):
    (elastic / "rule_0.toml").write_text("[rule\nname = 1")


def elastic_without_id(export, sigma, elastic):
    path = elastic / "rule_1.toml"
    path.write_text(path.read_text().replace('rule_id = "e1"\n', ""))


def repo_missing(export, sigma, elastic):
    shutil.rmtree(elastic)


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable
    ref: str  # a part of the quarantined object_ref (file, item)
    reason: str  # a part of the reason
    partial: tuple[str, str] | None = ("export", "111111111111")  # the scan now `partial`
    quarantine_source: str = "detections"


EXPORT_AND_REPO_CASES = [
    Case("truncated .json.gz", gzip_truncated, "cloudwatch-describe-alarms.json.gz", "not valid gzip"),
    Case(".json.gz that is not gzip", gzip_not_gzip, "events-list-rules.default.json.gz", "not valid gzip"),
    Case("\\u0000 in an alarm", nul_in_alarm, "cloudwatch-describe-alarms.json#MetricAlarms[0]", "NUL character"),
    Case("\\u0000 in a rule", nul_in_rule_name, "events-list-rules.default.json#Rules[0]", "at api_object.Description"),
    Case("\\u0000 in a joined side file", nul_in_history, "cloudwatch-describe-alarms.json#MetricAlarms[0]",
         "at related.alarm_history[0].HistorySummary"),
    Case("\\u0000 in a key", nul_in_a_key, "logs-describe-metric-filters.json#metricFilters[0]", "NUL character"),
    Case("raw NUL byte in a file", raw_nul_byte, "logs-describe-metric-filters.json", "not valid JSON"),
    Case("duplicate ARN in one file", duplicate_arn, "cloudwatch-describe-alarms.json#MetricAlarms[2]",
         "duplicate id arn:aws:cloudwatch:us-east-1:111111111111:alarm:cis-root-account-usage-alarm: items [0, 2]"),
    # the account's only region: nothing of it could be read, so it has no scan that day (its detections keep
    # their state); with other regions beside it, its scan is partial (tests/faults/test_scopes.py)
    Case("misnamed region folder", misnamed_region, "accounts/111111111111/US-East-1", "not an AWS region",
         partial=None),
    Case("misnamed account folder", misnamed_account, "accounts/mgmt-111111111111", "not a 12-digit AWS account id",
         partial=None),
    Case("truncated JSON", invalid_json, "events-list-rules.default.json", "not valid JSON"),
    Case("empty file", empty_file, "logs-describe-metric-filters.json", "not valid JSON"),
    Case("bad UTF-8", bad_utf8, "logs-describe-metric-filters.json", "not valid JSON"),
    Case("wrong top-level shape", wrong_shape, "cloudwatch-describe-alarms.json", "'MetricAlarms' list"),
    Case("item without its ARN", item_lacks_arn, "cloudwatch-describe-alarms.json#MetricAlarms[1]",
         "item lacks AlarmArn"),
    Case("ARN not a string", arn_not_a_string, "events-list-rules.default.json#Rules[1]", "is not a string"),
    Case("typo in a file name", typo_in_file_name, "cloudwatch-describe-alrams.json", "unknown export file name"),
    Case(".json and .json.gz of one file", json_and_gz_twice, "logs-describe-metric-filters.json.gz",
         "keep either .json or .json.gz"),
    Case("detector not an object", detector_not_an_object, "guardduty-get-detector.", "'Status'"),
    Case("targets file broken", targets_file_broken, "events-list-targets-by-rule.default.iam-access-key-created",
         "'Targets' list"),
    Case("GuardDuty filter broken", guardduty_filter_broken, "guardduty-get-filter.", "not valid JSON"),
    Case("tag file with \\u0000", tag_file_with_nul, "cloudwatch-describe-alarms.json#MetricAlarms[0]",
         "at api_object.Tags[0].Value"),
    Case("account listing with \\u0000", account_listing_with_nul, "list-accounts.json#Accounts[1]", "at Name",
         partial=None, quarantine_source="org_accounts"),
    Case("Sigma: invalid YAML", sigma_invalid_yaml, "rule_1.yml", "not valid YAML", partial=("sigma", "")),
    Case("Sigma: \\0 in a rule", sigma_nul, "rule_0.yml", "NUL character", partial=("sigma", "")),
    Case("Sigma: two files, one id", sigma_duplicate_id, "rule_9.yml", "share this id", partial=("sigma", "")),
    Case("Sigma: not a mapping", sigma_a_list, "rule_2.yml", "expected a YAML mapping", partial=("sigma", "")),
    Case("Elastic: invalid TOML", elastic_invalid_toml, "rule_0.toml", "not valid TOML", partial=("elastic", "")),
    Case("Elastic: no rule_id", elastic_without_id, "rule_1.toml", "lacks rule.rule_id", partial=("elastic", "")),
    Case("Elastic: repository gone", repo_missing, "elastic", "rule repository not found", partial=None),
]

LIVE = """select source, account_id, region, service, native_id, content_hash from raw.detection_presence
where valid_from <= %(day)s and (valid_to is null or valid_to > %(day)s)"""


@pytest.fixture(scope="module")
def days(warehouse_url, dagster_instance, tmp_path_factory):
    """DCV_HOME, the dated export root and the repos, with the clean baseline day loaded; yields a loader."""
    home = tmp_path_factory.mktemp("faults_home")
    sigma, elastic = home / "repos" / "sigma", home / "repos" / "elastic"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DCV_HOME", str(home))
        env.setenv("DCV_EXPORT_DIR", str(home / "exports"))
        env.setenv("DCV_RULE_REPOS", f"sigma={sigma},elastic={elastic}")
        env.setenv("DCV_EXPORT_WORKERS", "1")

        def load(day: date, mutate: Callable | None = None) -> dg.ExecuteInProcessResult:
            export = home / "exports" / day.isoformat()
            clean_export(export)
            clean_repos(sigma, elastic)
            if mutate is not None:
                a_legitimate_change(export)
                mutate(export, sigma, elastic)
            return dg.materialize([org_accounts, detections], partition_key=day.isoformat(), instance=dagster_instance,
                                  resources={"warehouse": WarehouseResource(), "s3": S3Resource()})

        assert load(BASELINE).success
        yield load


@pytest.mark.parametrize("case", EXPORT_AND_REPO_CASES, ids=[c.id for c in EXPORT_AND_REPO_CASES])
def test_a_bad_export_or_rule_file(case, days, db):
    day = BASELINE + timedelta(days=1 + EXPORT_AND_REPO_CASES.index(case))
    result = days(day, case.mutate)
    assert result.success, "one bad input must not fail the day"

    quarantined = db.execute("select object_ref, reason, payload from raw.quarantine "
                             "where source = %s and partition_date = %s", (case.quarantine_source, day)).fetchall()
    named = [(ref, reason) for ref, reason, _ in quarantined if case.ref in ref and case.reason in reason]
    assert named, f"expected {case.ref!r} / {case.reason!r} in {[(r, why) for r, why, _ in quarantined]}"

    before = set(db.execute(LIVE, {"day": BASELINE}).fetchall())
    after = set(db.execute(LIVE, {"day": day}).fetchall())
    assert before <= after, f"looked deleted or changed: {sorted(before - after)}"
    assert any(row[4] == NEW_CONTROL for row in after), "the rest of the day must still load"

    if case.partial:
        source, account = case.partial
        status = db.execute("select status, errors from raw.scans where source = %s and account_id = %s "
                            "and partition_date = %s", (source, account, day)).fetchone()
        assert status[0] == "partial" and status[1], status


# --- ATT&CK bundles and knowledge files --------------------------------------------------------------------------

def bundle_with(change: Callable[[dict], None]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        document = json.loads(BUNDLE_V2.read_text())
        change(document)
        path = folder / "attack-broken-2.0.json"
        path.write_text(json.dumps(document))
        return path
    return write


def raw_bundle(name: str, data: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name
    return write


def technique_index(document: dict) -> int:
    return next(i for i, o in enumerate(document["objects"]) if o["type"] == "attack-pattern")


ATTACK_CASES = [
    ("truncated gzip", raw_bundle("attack-3.0.json.gz", gzip.compress(BUNDLE_V2.read_bytes())[:200]),
     "attack-3.0.json.gz (file)", "truncated or corrupt gzip"),
    ("not JSON", raw_bundle("attack-3.0.json", b"<html>rate limited</html>"), "(file)", "not JSON"),
    ("not a bundle", raw_bundle("attack-3.0.json", b'{"type": "x-list", "objects": []}'), "(file)",
     "not a STIX bundle"),
    ("object without id", bundle_with(lambda d: d["objects"][technique_index(d)].pop("id")), "objects[",
     "without id or type"),
    ("technique without ATT&CK id", bundle_with(
        lambda d: d["objects"][technique_index(d)].update(external_references=[])), "attack-pattern--",
     "without a mitre-attack external_id"),
    ("\\u0000 in a description", bundle_with(
        lambda d: d["objects"][technique_index(d)].update(description="a\u0000b")), ".description",
     "NUL character"),
    ("file missing", lambda folder: folder / "attack-17.0.json", "attack-17.0.json", "no such file"),
]


@pytest.mark.parametrize(("writer", "ref", "reason"), [c[1:] for c in ATTACK_CASES], ids=[c[0] for c in ATTACK_CASES])
def test_a_bad_attack_bundle(writer, ref, reason, warehouse_url, dagster_instance, db, tmp_path, monkeypatch):
    bad = writer(tmp_path)
    monkeypatch.setenv("DCV_ATTACK_SOURCE", f"{BUNDLE_V1},{bad}")
    before = db.execute("select attack_version, sha256 from raw.attack_bundles order by 1").fetchall()
    result = dg.materialize([attack_bundles], instance=dagster_instance, resources={"warehouse": WarehouseResource()})
    assert result.success, "one bad bundle must not stop what reads ATT&CK"
    row = db.execute("select object_ref, reason from raw.quarantine where source = 'attack_bundle'").fetchone()
    assert str(bad) in row[0] and ref in row[0] and reason in row[1], row
    after = db.execute("select attack_version, sha256 from raw.attack_bundles order by 1").fetchall()
    assert set(before) <= set(after) and "1.0" in {v for v, _ in after}
    assert db.execute("select attack_version from app.attack_active_version").fetchone() is not None
    metadata = result.asset_materializations_for_node("attack_bundles")[0].metadata
    assert any(str(bad) in text for text in metadata["rejected_sources"].value)


def ctid_file(folder: Path, change: Callable[[dict], None] | None = None, name: str = "ctid-aws.json") -> Path:
    document = {"metadata": {"attack_version": "16.1", "technology_domain": "aws", "mapping_version": "fixture"},
                "mapping_objects": [{"capability_id": "guardduty", "attack_object_id": "T1562",
                                     "mapping_type": "technique_scores", "score_value": "partial",
                                     "comments": "fixture"}]}
    if change:
        change(document)
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def traildiscover_with(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        copy = folder / "traildiscover-broken"
        shutil.copytree(TRAILDISCOVER, copy)
        change(copy)
        return copy
    return write


KNOWLEDGE_CASES = [
    ("CTID: not JSON", lambda f: raw_bundle("ctid-bad.json", b"{")(f), "(file)", "not JSON"),
    ("CTID: no attack_version", lambda f: ctid_file(f, lambda d: d["metadata"].pop("attack_version"), "c2.json"),
     "metadata", "no attack_version"),
    ("CTID: metadata not an object", lambda f: ctid_file(f, lambda d: d.update(metadata=[]), "c3.json"),
     "metadata", "no attack_version"),
    ("CTID: \\u0000 in a comment", lambda f: ctid_file(
        f, lambda d: d["mapping_objects"][0].update(comments="\u0000"), "c4.json"), "mapping_objects[0].comments",
     "NUL character"),
    ("TrailDiscover: event not JSON", traildiscover_with(
        lambda c: (c / "events/SignIn/ConsoleLogin.json").write_text("{")), "events/SignIn/ConsoleLogin.json",
     "not JSON"),
    ("TrailDiscover: no licence", traildiscover_with(lambda c: (c / "LICENSE").unlink()), "LICENSE",
     "not the CC BY 4.0 licence"),
    ("TrailDiscover: event without eventName", traildiscover_with(lambda c: edit_json(
        c / "events/CloudTrail/StopLogging.json", lambda d: d.pop("eventName"))), "StopLogging.json",
     "eventName missing"),
    ("file missing", lambda f: f / "ctid-gone.json", "ctid-gone.json", "no such file"),
]


@pytest.mark.parametrize(("writer", "ref", "reason"), [c[1:] for c in KNOWLEDGE_CASES],
                         ids=[c[0] for c in KNOWLEDGE_CASES])
def test_a_bad_knowledge_file(writer, ref, reason, warehouse_url, dagster_instance, db, tmp_path, monkeypatch):
    good = ctid_file(tmp_path)
    monkeypatch.setenv("DCV_KNOWLEDGE_SOURCE", f"{good},{TRAILDISCOVER}")
    assert dg.materialize([knowledge_documents], instance=dagster_instance,
                          resources={"warehouse": WarehouseResource()}).success
    before = db.execute("select source_file, sha256 from raw.knowledge_documents order by 1").fetchall()

    bad = writer(tmp_path)
    good.write_text(good.read_text().replace("partial", "significant"))  # the rest still updates
    monkeypatch.setenv("DCV_KNOWLEDGE_SOURCE", f"{good},{TRAILDISCOVER},{bad}")
    result = dg.materialize([knowledge_documents], instance=dagster_instance,
                            resources={"warehouse": WarehouseResource()})
    assert result.success
    row = db.execute("select object_ref, reason from raw.quarantine where source = 'knowledge_documents'").fetchone()
    assert str(bad) in row[0] and ref in row[0] and reason in row[1], row
    after = dict(db.execute("select source_file, sha256 from raw.knowledge_documents").fetchall())
    assert {name for name, _ in before} <= set(after), "a loaded knowledge file was lost"
    assert after["traildiscover"] == dict(before)["traildiscover"]
    assert after["ctid-aws.json"] != dict(before)["ctid-aws.json"], "the good file's change must still load"
