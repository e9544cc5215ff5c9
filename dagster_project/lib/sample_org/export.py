"""Write the sample organization as an export directory (docs/export-layout.md), as the AWS CLI would print it.

The export is written into a temporary sibling directory and swapped in by rename, so a crash leaves either
the previous export or the new one, never half of one. A directory that holds a real export (no sample marker)
is never replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import yaml

from dagster_project.lib.sample_org.generate import SampleAccount, generate, organization_id
from dagster_project.lib.sources import cloud_exports
from dagster_project.lib.sources.accounts import ACCOUNTS_FILE, TAGS_FILE
from dagster_project.lib.sources.exports import DAY_FOLDER, fs_name
from dagster_project.lib.sources.exports import TAGS_FILE as RESOURCE_TAGS_FILE

MARKER = ".dcv-sample.json"  # says "this directory is a generated sample, safe to replace"


def _dump(document: object) -> bytes:
    return (json.dumps(document, indent=4, ensure_ascii=False) + "\n").encode()  # the CLI's --output json


def _listed(record: dict) -> dict:
    """The object as the service's own listing prints it: its tags come from the tag file instead."""
    return {k: v for k, v in record["api_object"].items() if k != "Tags"}


def _by_type(records: list[dict]) -> dict[str, dict[str, list[dict]]]:
    regions: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        regions[record["region"]][record["detection_type"]].append(record)
    return regions


def _events(region: str, account: str, rules: list[dict]) -> Iterator[tuple[str, object]]:
    buses = sorted({r["api_object"]["EventBusName"] for r in rules} | {"default"})
    yield "events-list-event-buses.json", {"EventBuses": [
        {"Name": b, "Arn": f"arn:aws:events:{region}:{account}:event-bus/{b}"} for b in buses]}
    for bus in buses:
        on_bus = [r for r in rules if r["api_object"]["EventBusName"] == bus]
        yield f"events-list-rules.{fs_name(bus)}.json", {"Rules": [_listed(r) for r in on_bus]}
        for rule in on_bus:
            yield (f"events-list-targets-by-rule.{fs_name(bus)}.{rule['api_object']['Name']}.json",
                   {"Targets": rule["related"].get("targets", [])})


def _guardduty(detectors: list[dict]) -> Iterator[tuple[str, object]]:
    yield "guardduty-list-detectors.json", {"DetectorIds": [d["native_id"] for d in detectors]}
    for detector in detectors:
        detector_id = detector["native_id"]
        yield (f"guardduty-get-detector.{detector_id}.json",
               {k: v for k, v in detector["api_object"].items() if k != "DetectorId"})
        filters = detector["related"].get("suppression_filters", [])
        yield f"guardduty-list-filters.{detector_id}.json", {"FilterNames": [f["Name"] for f in filters]}
        for found in filters:
            yield f"guardduty-get-filter.{detector_id}.{found['Name']}.json", found


def _securityhub(standards: list[dict], controls: list[dict]) -> Iterator[tuple[str, object]]:
    if not standards:
        return  # Security Hub not enabled in the region: the CLI errors and the script writes nothing
    yield "securityhub-get-enabled-standards.json", {"StandardsSubscriptions": [s["api_object"] for s in standards]}
    for n, standard in enumerate(standards):
        path = standard["api_object"]["StandardsSubscriptionArn"].split(":subscription/", 1)[1]
        mine = [c["api_object"] for c in controls
                if c["api_object"]["StandardsControlArn"].split(":control/", 1)[1].rsplit("/", 1)[0] == path]
        yield f"securityhub-describe-standards-controls.{n}.json", {"Controls": mine}


def region_files(region: str, account: str, kinds: dict[str, list[dict]]) -> Iterator[tuple[str, object]]:
    """(file name, document) for one account/region, exactly the files the export script writes."""
    yield "logs-describe-metric-filters.json", {"metricFilters": [r["api_object"] for r in kinds["metric_filter"]]}
    yield "logs-describe-query-definitions.json", {
        "queryDefinitions": [r["api_object"] for r in kinds["logs_insights_query"]]}
    alarms = kinds["metric_alarm"]
    yield "cloudwatch-describe-alarms.json", {"MetricAlarms": [_listed(r) for r in alarms], "CompositeAlarms": []}
    yield "cloudwatch-describe-alarm-history.json", {"AlarmHistoryItems": [
        {"AlarmName": r["api_object"]["AlarmName"], "AlarmType": "MetricAlarm", "Timestamp": h["Timestamp"],
         "HistoryItemType": "StateUpdate", "HistorySummary": h["HistorySummary"]}
        for r in alarms for h in r["related"].get("alarm_history", [])]}
    yield from _events(region, account, kinds["event_rule"])
    yield from _guardduty(kinds["guardduty_detector"])
    yield from _securityhub(kinds["securityhub_standard"], kinds["securityhub_control"])
    rules = kinds["config_rule"]
    yield "config-describe-config-rules.json", {"ConfigRules": [_listed(r) for r in rules]}
    yield "config-describe-config-rule-evaluation-status.json", {"ConfigRulesEvaluationStatus": [
        r["related"]["evaluation_status"] for r in rules if r["related"].get("evaluation_status")]}
    # aws resourcegroupstaggingapi get-resources: the tagged resources of the region
    yield f"{RESOURCE_TAGS_FILE}.json", {"ResourceTagMappingList": [
        {"ResourceARN": r["native_id"], "Tags": r["api_object"]["Tags"]}
        for kind in ("metric_alarm", "event_rule", "config_rule") for r in kinds[kind] if r["api_object"].get("Tags")]}


def _list_accounts_entry(account: SampleAccount, management: str, org: str) -> dict:
    return {"Id": account.account_id, "Arn": f"arn:aws:organizations::{management}:account/{org}/{account.account_id}",
            "Email": account.email, "Name": account.name, "Status": account.status,
            "JoinedMethod": account.joined_method, "JoinedTimestamp": account.joined}


def _write_tree(root: Path, accounts: int, detections_per_account: int, seed: int, day: date | None,
                clouds: bool = False) -> dict:
    counts = {"accounts": 0, "detections": 0, "files": 0, "bytes": 0}

    def write(rel: str, document: object) -> None:
        data = _dump(document)
        path = root / rel
        path.write_bytes(data)
        counts["files"] += 1
        counts["bytes"] += len(data)

    entries, management, org = [], None, organization_id(seed)
    for account in generate(accounts, detections_per_account, seed=seed, day=day):
        management = management or account.account_id  # the first account is the management account
        entries.append(_list_accounts_entry(account, management, org))
        (root / ACCOUNTS_FILE).parent.mkdir(parents=True, exist_ok=True)
        write(str(ACCOUNTS_FILE.parent / TAGS_FILE.format(account_id=account.account_id)), {"Tags": account.tags})
        counts["accounts"] += 1
        counts["detections"] += len(account.records)
        for region, kinds in sorted(_by_type(account.records).items()):
            (root / "accounts" / account.account_id / region).mkdir(parents=True)
            for name, document in region_files(region, account.account_id, kinds):
                write(f"accounts/{account.account_id}/{region}/{name}", document)
    (root / ACCOUNTS_FILE).parent.mkdir(parents=True, exist_ok=True)
    write(str(ACCOUNTS_FILE), {"Accounts": entries})
    if clouds:
        for rel, document in cloud_files().items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            write(rel, document)
        folders = {rel.rsplit("/", 1)[0] for rel in cloud_files()}
        counts["accounts"] += len(folders)
        counts["detections"] += sum(len(d["value"] if isinstance(d, dict) else d) for rel, d in cloud_files().items()
                                    if cloud_exports.service_of(rel.rsplit("/", 1)[-1])
                                    and not rel.endswith(("-channels-list.json", "-action-group-list.json")))
    return counts


def cloud_files() -> dict[str, object]:
    """The sample's Google Cloud project and Azure subscription: export file -> what gcloud / az prints."""
    return yaml.safe_load(Path(__file__).with_name("clouds.yaml").read_text())


def prepare_dated_export(export_dir: Path) -> None:
    """Make `export_dir` ready to hold sample days as dated folders (`<dir>/<YYYY-MM-DD>/`, each a sample).

    An undated sample written there by an earlier version (the marker at the top) is removed; a directory holding
    anything else than sample day folders (a real export) is refused, never written into."""
    export_dir = Path(export_dir)
    if not export_dir.exists():
        return
    if (export_dir / MARKER).exists():
        shutil.rmtree(export_dir)  # an undated sample: generated, safe to remove
        return
    foreign = [p.name for p in export_dir.iterdir()
               if not (p.is_dir() and DAY_FOLDER.match(p.name) and (p / MARKER).exists())]
    if foreign:
        raise FileExistsError(f"{export_dir} holds files that are not generated sample days ({', '.join(foreign[:3])}"
                              f"{' ...' if len(foreign) > 3 else ''}): not writing the sample there (point "
                              "DCV_EXPORT_DIR elsewhere or unset it)")


def write_export(export_dir: Path, accounts: int, detections_per_account: int, seed: int = 7,
                 day: date | None = None, clouds: bool = False) -> dict:
    """Replace the sample export at export_dir; returns counts (accounts, detections, files, bytes). clouds: add
    the sample Google Cloud project and Azure subscription (clouds.yaml)."""
    export_dir = Path(export_dir)
    if export_dir.exists() and any(export_dir.iterdir()) and not (export_dir / MARKER).exists():
        raise FileExistsError(f"{export_dir} holds files that are not a generated sample: not replacing them")
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{export_dir.name}.new-", dir=export_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would otherwise become the export's permissions
    try:
        counts = _write_tree(staging, accounts, detections_per_account, seed, day, clouds)
        (staging / MARKER).write_text(json.dumps({"accounts": accounts, "detections_per_account":
                                                  detections_per_account, "seed": seed,
                                                  "day": day.isoformat() if day else None, **counts}) + "\n")
        old = None
        if export_dir.exists():
            old = export_dir.with_name(f".{export_dir.name}.old-{os.getpid()}")
            export_dir.rename(old)
        staging.rename(export_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return counts
