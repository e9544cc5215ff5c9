"""Export directories: a generated sample round-trips, hand-written files with mistakes are rejected one by one."""

import gzip
import itertools
import json
import shutil
from pathlib import Path

import pytest

from dagster_project.lib.detections.record import problem
from dagster_project.lib.sample_org import generate, write_export
from dagster_project.lib.sources.accounts import Reject, read_accounts_export
from dagster_project.lib.sources.exports import read_export

FIXTURE = Path(__file__).parents[1] / "fixtures" / "exports" / "small"
ACCOUNT_1 = "accounts/111111111111/us-east-1"


def split_items(items):
    items = list(items)
    return [i for i in items if isinstance(i, dict)], [i for i in items if isinstance(i, Reject)]


def key(record):
    return record["account_id"], record["region"], record["service"], record["native_id"]


def test_sample_export_round_trips(tmp_path):
    counts = write_export(tmp_path / "export", 3, 40)
    records, rejects = split_items(read_export(tmp_path / "export"))
    assert rejects == []
    assert counts["accounts"] == 3 and len(records) == counts["detections"] > 100
    assert all(problem(r) is None for r in records)
    # grouped: each account's records form one run
    runs = [account for account, _ in itertools.groupby(records, key=lambda r: r["account_id"])]
    assert len(runs) == len(set(runs)) == 3
    # exactly what was generated, joins included
    generated = sorted((r for a in generate(3, 40) for r in a.records), key=key)
    assert sorted(records, key=key) == generated
    alarms = [r for r in records if r["detection_type"] == "metric_alarm"]
    assert alarms and all(r["related"]["alarm_history"] for r in alarms)
    assert all("targets" in r["related"] for r in records if r["detection_type"] == "event_rule")
    accounts, bad = read_accounts_export(tmp_path / "export")
    assert bad == [] and sorted(a["Id"] for a in accounts) == sorted(runs)


def test_fixture_rejects_exactly_the_bad_files():
    records, rejects = split_items(read_export(FIXTURE))
    assert sorted((Path(r.object_ref).relative_to(FIXTURE).as_posix(), r.reason.split(":")[0]) for r in rejects) == [
        (f"{ACCOUNT_1}/config-describe-config-rules.json", "not valid JSON"),
        ("accounts/222222222222/eu-west-1/securityhub-get-enabled-standards.json",
         "expected a JSON object with a 'StandardsSubscriptions' list (AWS CLI output)"),
    ]
    assert all(r.payload for r in rejects)
    by_type = {t: list(g) for t, g in itertools.groupby(sorted(records, key=lambda r: r["detection_type"]),
                                                          key=lambda r: r["detection_type"])}
    assert {t: len(v) for t, v in by_type.items()} == {
        "metric_filter": 1, "metric_alarm": 2, "event_rule": 2, "guardduty_detector": 1, "securityhub_control": 2,
        "config_rule": 1}
    assert all(problem(r) is None for r in records)
    assert [r["account_id"] for r in records] == ["111111111111"] * 6 + ["222222222222"] * 3

    metric_filter = by_type["metric_filter"][0]
    assert metric_filter["native_id"] == "aws-cloudtrail-logs-111111111111:cis-root-account-usage"
    root_alarm, other_alarm = by_type["metric_alarm"]
    assert [h["HistorySummary"] for h in root_alarm["related"]["alarm_history"]] == [
        "Alarm updated from OK to ALARM", "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert other_alarm["related"] == {"alarm_history": []}
    rules = {r["name"]: r for r in by_type["event_rule"]}
    assert rules["iam-access-key-created"]["related"]["targets"][0]["Id"] == "notify"
    assert rules["cloudtrail.stop-logging"]["related"] == {"targets": []}  # a dot in the rule name is fine
    detector = by_type["guardduty_detector"][0]
    assert detector["api_object"]["DetectorId"] == detector["native_id"] == "12abc34d567e8fa901bc2d34eexample"
    assert [f["Name"] for f in detector["related"]["suppression_filters"]] == ["suppress-port-probes"]
    config_rule = by_type["config_rule"][0]
    assert config_rule["related"]["evaluation_status"]["LastErrorCode"] == "AccessDenied"
    assert config_rule["region"] == "eu-west-1"


def test_bad_items_directories_and_gzip(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(FIXTURE, export)
    region = export / ACCOUNT_1
    alarms = json.loads((region / "cloudwatch-describe-alarms.json").read_text())
    del alarms["MetricAlarms"][1]["AlarmArn"]
    (region / "cloudwatch-describe-alarms.json").write_text(json.dumps(alarms))
    # gzip is read like plain JSON
    rules = region / "events-list-rules.default.json"
    (region / "events-list-rules.default.json.gz").write_bytes(gzip.compress(rules.read_bytes()))
    rules.unlink()
    (region / "cloudwatch-describe-alrams.json").write_text("{}")  # a typo in a file name
    (export / "accounts" / "prod-account").mkdir()
    (export / "accounts" / "111111111111" / "moon-base-1").mkdir()
    (export / "accounts" / "111111111111" / "notes.json").write_text("{}")

    records, rejects = split_items(read_export(export))
    refs = {Path(r.object_ref.split("#")[0]).relative_to(export).as_posix() + (
        "#" + r.object_ref.split("#")[1] if "#" in r.object_ref else ""): r.reason for r in rejects}
    assert refs == {
        "accounts/prod-account": "directory name is not a 12-digit AWS account id",
        "accounts/111111111111/moon-base-1": "directory name is not an AWS region",
        "accounts/111111111111/notes.json": "file outside a region directory",
        f"{ACCOUNT_1}/cloudwatch-describe-alarms.json#MetricAlarms[1]": "item lacks AlarmArn",
        f"{ACCOUNT_1}/cloudwatch-describe-alrams.json":
            "unknown export file name (docs/export-layout.md lists the expected files)",
        f"{ACCOUNT_1}/config-describe-config-rules.json": refs[f"{ACCOUNT_1}/config-describe-config-rules.json"],
        "accounts/222222222222/eu-west-1/securityhub-get-enabled-standards.json":
            "expected a JSON object with a 'StandardsSubscriptions' list (AWS CLI output)",
    }
    assert len(records) == 8
    assert sum(r["detection_type"] == "event_rule" for r in records) == 2


def test_write_export_replaces_a_sample_but_never_a_real_export(tmp_path):
    first = write_export(tmp_path / "export", 2, 20, seed=1)
    second = write_export(tmp_path / "export", 1, 20, seed=2)
    assert first["accounts"] == 2 and second["accounts"] == 1
    assert len(list((tmp_path / "export" / "accounts").iterdir())) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no staging or old directory left
    real = tmp_path / "real"
    shutil.copytree(FIXTURE, real)
    with pytest.raises(FileExistsError):
        write_export(real, 1, 20)
    assert (real / ACCOUNT_1 / "logs-describe-metric-filters.json").exists()


def test_s3_prefix_reads_the_same_layout(tmp_path, moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    write_export(tmp_path / "export", 2, 30)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="dcv-exports")
    for path in (tmp_path / "export").rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "dcv-exports", f"daily/2025-03-01/{path.relative_to(tmp_path / 'export')}")
    from_s3 = list(read_export("s3://dcv-exports/daily/2025-03-01"))
    assert from_s3 == list(read_export(tmp_path / "export"))


def test_tag_files_add_resource_and_account_tags(tmp_path):
    """resourcegroupstaggingapi-get-resources.json tags alarms, rules and Config rules by ARN; an account's
    organizations/list-tags-for-resource.<id>.json tags its ListAccounts entry; a bad tag file is rejected once
    and its records load untagged."""
    from dagster_project.lib.sources.exports import read_account_scopes, tree_for

    export = tmp_path / "export"
    shutil.copytree(FIXTURE, export)
    region = export / ACCOUNT_1
    owner = [{"Key": "owner", "Value": "secops"}, {"Key": "criticality", "Value": "high"}]
    tag_file = region / "resourcegroupstaggingapi-get-resources.json"
    tag_file.write_text(json.dumps({"ResourceTagMappingList": [
        {"ResourceARN": "arn:aws:cloudwatch:us-east-1:111111111111:alarm:cis-root-account-usage-alarm", "Tags": owner},
        {"ResourceARN": "arn:aws:events:us-east-1:111111111111:rule/cloudtrail.stop-logging",
         "Tags": [{"Key": "owner", "Value": "platform"}]},
        {"ResourceARN": "arn:aws:s3:::some-bucket", "Tags": [{"Key": "owner", "Value": "data"}]},  # not a detection
    ]}, indent=4))
    (export / "organizations" / "list-tags-for-resource.111111111111.json").write_text(json.dumps({"Tags": [
        {"Key": "environment", "Value": "production"}, {"Key": "criticality", "Value": "high"}]}))
    (export / "organizations" / "list-tags-for-resource.222222222222.json").write_text('{"Tags": "high"}')

    records, rejects = split_items(read_export(export))
    by_name = {r["name"]: r["api_object"] for r in records}
    assert by_name["cis-root-account-usage-alarm"]["Tags"] == owner
    assert by_name["cloudtrail.stop-logging"]["Tags"] == [{"Key": "owner", "Value": "platform"}]
    assert "Tags" not in by_name["unauthorized-api-calls-alarm"] and "Tags" not in by_name["iam-access-key-created"]
    assert "resourcegroupstaggingapi" not in " ".join(r.object_ref for r in rejects)  # a known file, read once
    assert len(records) == 9

    accounts, bad = read_accounts_export(export)
    tags = {a["Id"]: a.get("Tags") for a in accounts}
    assert tags == {"111111111111": [{"Key": "environment", "Value": "production"},
                                     {"Key": "criticality", "Value": "high"}], "222222222222": None}
    [reject] = bad
    assert reject.object_ref.endswith("list-tags-for-resource.222222222222.json") and "'Tags' list" in reject.reason

    # the tag file is part of each scope it tags: a tag change reads alarms, rules and Config rules again
    def digests():
        return {s.key: s.digest for s in read_account_scopes(tree_for(export), "111111111111", {})
                if not isinstance(s, Reject)}

    before = digests()
    tag_file.write_text(tag_file.read_text().replace("secops", "detection-engineering"))
    after = digests()
    assert {k for k in before if before[k] != after[k]} == {"us-east-1/cloudwatch", "us-east-1/eventbridge",
                                                            "us-east-1/config"}

    tag_file.write_text("{not json")
    records, rejects = split_items(read_export(export))
    assert [Path(r.object_ref).name for r in rejects if "resourcegroupstaggingapi" in r.object_ref] == [
        "resourcegroupstaggingapi-get-resources.json"]
    # the records it tags are left out (they keep their previous state in the warehouse) rather than load untagged
    assert sorted((r["account_id"][0], r["detection_type"]) for r in records) == [
        ("1", "guardduty_detector"), ("1", "metric_filter"), ("2", "config_rule"), ("2", "securityhub_control"),
        ("2", "securityhub_control")]
