"""Detection records from an export directory: what the AWS CLI prints, one file per command (docs/export-layout.md).

    <dir>/organizations/list-accounts.json                 (read by sources/accounts.py)
    <dir>/accounts/<account_id>/<region>/<command>[.<qualifier>].json[.gz]

Records come out account by account (sorted by account id) and only one region's service's files are held
at a time, so an export of any size streams. A daily load may skip a scope (one service's files in one
region) whose bytes equal the previous scan's: `read_account_scopes` digests before it parses. Each bad
file, directory or item becomes one Reject naming it (with the item index, e.g.
`...cloudwatch-describe-alarms.json#MetricAlarms[3]`) and the rest of the account still loads.
`s3://bucket/prefix` reads the same layout from S3 (credentials and endpoint from boto3's usual environment).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dagster_project.lib.detections import record
from dagster_project.lib.sources.accounts import Reject
from dagster_project.lib.warehouse.storable import JSON_NUL, nul_path, nul_reason

ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
# Files the documented export script writes to find other files; they hold no detections.
AUXILIARY = re.compile(r"^(events-list-event-buses|guardduty-list-detectors|guardduty-list-filters\.[^/]+)$")


@dataclass(frozen=True)
class Kind:
    """One list-shaped CLI response: which key holds the items and how an item becomes a record."""

    list_key: str
    service: str
    detection_type: str
    required: tuple[str, ...]
    native_id: Callable[[dict], str]
    name: Callable[[dict], str]


METRIC_FILTERS = Kind("metricFilters", "cloudwatch_logs", "metric_filter", ("filterName", "logGroupName"),
                      lambda o: f"{o['logGroupName']}:{o['filterName']}", lambda o: o["filterName"])
QUERY_DEFINITIONS = Kind("queryDefinitions", "cloudwatch_logs", "logs_insights_query", ("queryDefinitionId",),
                         lambda o: o["queryDefinitionId"], lambda o: o.get("name") or o["queryDefinitionId"])
ALARMS = Kind("MetricAlarms", "cloudwatch", "metric_alarm", ("AlarmName", "AlarmArn"),
              lambda o: o["AlarmArn"], lambda o: o["AlarmName"])
EVENT_RULES = Kind("Rules", "eventbridge", "event_rule", ("Name", "Arn"), lambda o: o["Arn"], lambda o: o["Name"])
STANDARDS = Kind("StandardsSubscriptions", "securityhub", "securityhub_standard",
                 ("StandardsSubscriptionArn", "StandardsArn"), lambda o: o["StandardsSubscriptionArn"],
                 lambda o: o["StandardsArn"].split("/", 1)[-1])
CONTROLS = Kind("Controls", "securityhub", "securityhub_control", ("StandardsControlArn", "ControlId"),
                lambda o: o["StandardsControlArn"], lambda o: o["ControlId"])
CONFIG_RULES = Kind("ConfigRules", "config", "config_rule", ("ConfigRuleName",),
                    lambda o: o.get("ConfigRuleArn") or o["ConfigRuleName"], lambda o: o["ConfigRuleName"])

# file stem -> what it holds; files with a qualifier (events-list-rules.<bus>) are matched by prefix below
SIMPLE_FILES = {
    "logs-describe-metric-filters": METRIC_FILTERS,
    "logs-describe-query-definitions": QUERY_DEFINITIONS,
    "securityhub-get-enabled-standards": STANDARDS,
    "config-describe-config-rules": CONFIG_RULES,
}
JOINED_FILES = ("cloudwatch-describe-alarm-history", "config-describe-config-rule-evaluation-status")
# `aws resourcegroupstaggingapi get-resources`: the region's resource tags, joined by ARN onto the records of the
# kinds below as "Tags" (what ListTagsForResource gives the live collectors). Part of each of those services' scopes.
TAGS_FILE = "resourcegroupstaggingapi-get-resources"
TAGGED_KINDS = (ALARMS, EVENT_RULES, CONFIG_RULES)


def fs_name(name: str) -> str:
    """An AWS name inside a file name: '/' (partner event buses) cannot appear in one."""
    return name.replace("/", "%2F")


# --- where the files are: a local directory or an S3 prefix -------------------------------------------------

class LocalTree:
    def __init__(self, root: Path):
        self.root = str(root)

    def ref(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def list_dir(self, rel: str) -> tuple[list[str], list[str]]:
        # scandir knows file types without a stat per entry: an account has hundreds of small files
        try:
            with os.scandir(self.ref(rel)) as entries:
                found = [(e.name, e.is_dir()) for e in entries]
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        return sorted(n for n, d in found if d), sorted(n for n, d in found if not d)

    def read(self, rel: str) -> bytes:
        with open(self.ref(rel), "rb") as f:
            return f.read()


class S3Tree:
    def __init__(self, url: str):
        import boto3

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3")

    def ref(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{rel}"

    def list_dir(self, rel: str) -> tuple[list[str], list[str]]:
        prefix = f"{self.prefix}{rel.strip('/')}/" if rel else self.prefix
        dirs, files = [], []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                           Delimiter="/"):
            dirs += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
            files += [o["Key"][len(prefix):] for o in page.get("Contents", [])]
        return sorted(dirs), sorted(f for f in files if f)

    def read(self, rel: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.prefix + rel)["Body"].read()


def tree_for(export_dir: Path | str) -> LocalTree | S3Tree:
    text = str(export_dir)
    return S3Tree(text) if text.startswith("s3://") else LocalTree(Path(text))


# --- which directory describes a day -----------------------------------------------------------------------

DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UNDATED_CONTENT = ("accounts", "organizations", "projects", "subscriptions")


class NotThatDay(ValueError):
    """A source cannot describe the day asked for; the message is one line, meant for the user."""


def dated_days(export_dir: Path | str) -> list[date]:
    """The days an export directory holds as YYYY-MM-DD/ sub-folders, oldest first (none: it is undated)."""
    folders, _ = tree_for(export_dir).list_dir("")
    days = []
    for name in folders:
        if DAY_FOLDER.match(name):
            try:
                days.append(date.fromisoformat(name))
            except ValueError:
                continue  # 2026-13-01: not a day
    return sorted(days)


def _join(export_dir: Path | str, name: str) -> Path | str:
    return f"{str(export_dir).rstrip('/')}/{name}" if str(export_dir).startswith("s3://") else Path(export_dir) / name


def nearest_days(days: list[date], day: date, count: int = 3) -> list[date]:
    """The `count` days closest to `day` (earlier first on a tie), in date order."""
    return sorted(sorted(days, key=lambda d: (abs((d - day).days), d))[:count])


def export_dir_for_day(export_dir: Path | str, day: date, today: date) -> Path | str:
    """The directory that describes `day` (docs/export-layout.md, "Days").

    - dated (it holds YYYY-MM-DD/ folders): `<dir>/<day>`; a day it does not hold is an error naming the
      nearest days it does;
    - undated: `<dir>` itself, which is what the organization looked like when it was exported, so only for
      `today` (UTC); any other day is refused rather than given today's state.
    Raises NotThatDay with one line for the user."""
    days = dated_days(export_dir)
    if days:
        folders, _ = tree_for(export_dir).list_dir("")
        undated = [name for name in UNDATED_CONTENT if name in folders]
        if undated:
            raise NotThatDay(f"DCV_EXPORT_DIR {export_dir} holds both dated folders ({days[0]} ... {days[-1]}) and "
                             f"an undated export ({', '.join(f'{n}/' for n in undated)}): move the undated files "
                             "into the folder of the day they were exported")
        if day not in days:
            near = ", ".join(d.isoformat() for d in nearest_days(days, day))
            raise NotThatDay(f"DCV_EXPORT_DIR {export_dir} has no {day}/ folder (nearest days it holds: {near}; "
                             f"{len(days)} in all, {days[0]} to {days[-1]})")
        return _join(export_dir, day.isoformat())
    if day != today:
        raise NotThatDay(f"DCV_EXPORT_DIR {export_dir} is not dated (no YYYY-MM-DD/ folders): it describes today, "
                         f"{today} (UTC), not {day}; to load past days put each day's export in "
                         f"{_join(export_dir, 'YYYY-MM-DD')}/ (docs/export-layout.md)")
    return export_dir


# --- reading ------------------------------------------------------------------------------------------------

def _load(tree, rel: str) -> tuple[Any | Reject, bool]:
    """The file's JSON (or a Reject naming it), and whether its text holds an escaped NUL character."""
    raw = tree.read(rel)
    text = raw
    try:
        if rel.endswith(".gz"):
            text = b""
            text = gzip.decompress(raw)
        return json.loads(text), JSON_NUL in text
    except (OSError, EOFError, ValueError) as exc:  # bad gzip, bad UTF-8 and bad JSON are all ValueError/OSError
        if rel.endswith(".gz") and not text:
            # the excerpt is what could be decompressed (a truncated file's beginning), not compressed bytes
            return Reject(tree.ref(rel), f"not valid gzip: {exc}",
                          _gunzip_prefix(raw).decode("utf-8", "replace")), False
        return Reject(tree.ref(rel), f"not valid JSON: {exc}", text[:2000].decode("utf-8", "replace")), False


def _gunzip_prefix(raw: bytes, limit: int = 2000) -> bytes:
    """As much of a damaged gzip stream as decompresses, up to `limit` bytes."""
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, limit)
    except zlib.error:
        return b""


def _list(document: Any, key: str, tree, rel: str) -> list | Reject:
    if isinstance(document, Reject):
        return document
    if not isinstance(document, dict) or not isinstance(document.get(key), list):
        return Reject(tree.ref(rel), f"expected a JSON object with a '{key}' list (AWS CLI output)",
                      json.dumps(document)[:2000])
    return document[key]


class _Withheld(Exception):  # noqa: N818 -- not an error: a record left out on purpose
    """A side file this record joins (its targets, history, status, filters or tags) was rejected: the record is
    not loaded, so it keeps its previous state rather than take a version without that part (a rule that seems
    to have lost its targets). The side file's own Reject is what gets quarantined."""


def _records(kind: Kind, items: list, tree, rel: str, account_id: str, region: str,
             related: Callable[[dict], dict] = lambda o: {},
             tags: Callable[[str], list] | None = None,
             may_hold_nul: Callable[[], bool] = lambda: True,
             withheld: Callable[[], None] = lambda: None) -> Iterator[dict | Reject]:
    # Items sharing an id cannot all be the detection: which one is real is unknown, so every copy is rejected
    # and the detection keeps its previous state (its scope is not scanned that day), whatever the file's order.
    problems: list[str | None] = []
    ids: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        missing = [k for k in kind.required if not isinstance(item, dict) or not item.get(k)]
        native_id = None if missing else kind.native_id(item)
        if missing:
            problems.append(f"item lacks {', '.join(missing)}")
        elif not isinstance(native_id, str) or not all(isinstance(item[k], str) for k in kind.required):
            problems.append(f"item's {', '.join(k for k in kind.required if not isinstance(item[k], str)) or 'id'} "
                            "is not a string")
        else:
            problems.append(None)
            ids.setdefault(native_id, []).append(i)
    for i, item in enumerate(items):
        ref = f"{tree.ref(rel)}#{kind.list_key}[{i}]"
        if problems[i]:
            yield Reject(ref, problems[i], json.dumps(item)[:2000])
            continue
        native_id = kind.native_id(item)
        if len(ids[native_id]) > 1:
            yield Reject(ref, f"duplicate id {native_id}: items {ids[native_id]} of {kind.list_key} share it, none "
                              "is loaded (the detection keeps its previous state)", json.dumps(item)[:2000])
            continue
        try:
            found = tags(native_id) if tags else None
            joined = related(item)
        except _Withheld:
            withheld()
            continue
        # as lib/aws/clients.with_tags: "Tags" only on a resource that has some
        api_object = {**item, "Tags": found} if found else item
        record = {"provider": "aws", "service": kind.service, "detection_type": kind.detection_type,
                  "native_id": native_id, "name": kind.name(item), "region": region,
                  "account_id": account_id, "api_object": api_object, "related": joined}
        where = nul_path(record) if may_hold_nul() else None  # after related(): it reads side files
        if where:
            yield Reject(ref, nul_reason(where), json.dumps(item)[:2000])
            continue
        yield record


class Region:
    """The files of one account/region directory, keyed by name without .json/.json.gz."""

    def __init__(self, tree, account_id: str, region: str, files: list[str], report_tags: bool = True):
        self.tree, self.account_id, self.region = tree, account_id, region
        self.base = f"accounts/{account_id}/{region}/"
        self.files: dict[str, str] = {}
        self.rejects: list[Reject] = []
        self.used: set[str] = set()
        # the tag file serves several scopes of the region: only one of them reports its problems
        self.report_tags = report_tags
        self._tags: dict[str, list] | None = None
        self._tags_rejected = False
        self.withheld = False  # some record was left out because a side file it joins was rejected (_Withheld)
        self.nul_files: set[str] = set()  # stems whose text holds \u0000: their records are checked for NUL
        for name in files:
            stem = name.removesuffix(".gz").removesuffix(".json") if name.endswith((".json", ".json.gz")) else None
            if stem is None:
                continue  # not an export file (README, .DS_Store): nothing to read
            if stem in self.files:
                self.rejects.append(Reject(tree.ref(self.base + name),
                                           f"duplicate of {self.files[stem]}: keep either .json or .json.gz"))
                continue
            self.files[stem] = name

    def list_of(self, stem: str, key: str) -> list | Reject | None:
        if stem not in self.files:
            return None
        return _list(self.document(stem), key, self.tree, self.rel(stem))

    def document(self, stem: str) -> Any | Reject:
        self.used.add(stem)
        document, has_nul = _load(self.tree, self.rel(stem))
        if has_nul:
            self.nul_files.add(stem)
        return document

    def rel(self, stem: str) -> str:
        return self.base + self.files[stem]

    def records(self, kind: Kind, stem: str, related=lambda o: {}) -> Iterator[dict | Reject]:
        items = self.list_of(stem, kind.list_key)
        if isinstance(items, Reject):
            yield items
        elif items:
            tags = self.tags_of if kind in TAGGED_KINDS and TAGS_FILE in self.files else None
            yield from _records(kind, items, self.tree, self.rel(stem), self.account_id, self.region, related, tags,
                                may_hold_nul=lambda: bool(self.nul_files), withheld=self._withhold)

    def _withhold(self) -> None:
        self.withheld = True

    def tags_of(self, arn: str) -> list:
        """The resource's tags from the region's tag file ([] when it lists none for that ARN)."""
        if self._tags is None:
            self._tags = {}
            items = self.list_of(TAGS_FILE, "ResourceTagMappingList")
            if isinstance(items, Reject):
                if self.report_tags:
                    self.rejects.append(items)
                self._tags_rejected = True
                items = []
            for i, item in enumerate(items or []):
                if (isinstance(item, dict) and isinstance(item.get("ResourceARN"), str)
                        and isinstance(item.get("Tags", []), list)):
                    self._tags[item["ResourceARN"]] = item.get("Tags") or []
                elif self.report_tags:
                    self.rejects.append(Reject(f"{self.tree.ref(self.rel(TAGS_FILE))}#ResourceTagMappingList[{i}]",
                                               "item lacks ResourceARN or its Tags is not a list",
                                               json.dumps(item)[:2000]))
        if self._tags_rejected:
            raise _Withheld
        return self._tags.get(arn, [])

    def joined(self, stem: str, key: str, by: str, pick: Callable[[dict], Any]) -> dict[str, list] | None | Reject:
        """A side file joined onto records by name; None when absent, its Reject when unreadable (also recorded)."""
        items = self.list_of(stem, key)
        if items is None:
            return None
        if isinstance(items, Reject):
            self.rejects.append(items)
            return items
        joined: dict[str, list] = {}
        for item in items:
            if isinstance(item, dict) and isinstance(item.get(by), str):
                joined.setdefault(item[by], []).append(pick(item))
        return joined


def _alarms(region: Region) -> Iterator[dict | Reject]:
    history = region.joined("cloudwatch-describe-alarm-history", "AlarmHistoryItems", "AlarmName",
                            lambda h: {"Timestamp": h.get("Timestamp"), "HistorySummary": h.get("HistorySummary")})
    if "cloudwatch-describe-alarms" in region.files:
        def related(alarm: dict) -> dict:
            if isinstance(history, Reject):
                raise _Withheld
            return {} if history is None else {"alarm_history": history.get(alarm["AlarmName"], [])}

        yield from region.records(ALARMS, "cloudwatch-describe-alarms", related)


def _config_rules(region: Region) -> Iterator[dict | Reject]:
    status = region.joined("config-describe-config-rule-evaluation-status", "ConfigRulesEvaluationStatus",
                           "ConfigRuleName", lambda s: s)

    def related(rule: dict) -> dict:
        if isinstance(status, Reject):
            raise _Withheld
        found = (status or {}).get(rule["ConfigRuleName"])
        return {"evaluation_status": found[0]} if found else {}

    yield from region.records(CONFIG_RULES, "config-describe-config-rules", related)


def _event_rules(region: Region) -> Iterator[dict | Reject]:
    for stem in sorted(s for s in region.files if s == "events-list-rules" or s.startswith("events-list-rules.")):
        bus = stem.partition(".")[2].replace("%2F", "/") or "default"

        def related(rule: dict, bus=bus) -> dict:
            # targets are fetched per rule; the file name is built from the names, so dots in names are fine
            target_stem = f"events-list-targets-by-rule.{fs_name(rule.get('EventBusName') or bus)}.{rule['Name']}"
            if target_stem not in region.files:
                return {}
            targets = region.list_of(target_stem, "Targets")
            if isinstance(targets, Reject):
                region.rejects.append(targets)
                raise _Withheld
            return {"targets": targets}

        yield from region.records(EVENT_RULES, stem, related)


def _guardduty(region: Region) -> Iterator[dict | Reject]:
    for stem in sorted(s for s in region.files if s.startswith("guardduty-get-detector.")):
        detector_id = stem.partition(".")[2]
        document = region.document(stem)
        ref = region.tree.ref(region.rel(stem))
        if isinstance(document, Reject):
            yield document
            continue
        if not isinstance(document, dict) or not document.get("Status"):
            yield Reject(ref, "expected a JSON object with 'Status' (aws guardduty get-detector)",
                         json.dumps(document)[:2000])
            continue
        filters, withheld = [], False
        for filter_stem in sorted(s for s in region.files if s.startswith(f"guardduty-get-filter.{detector_id}.")):
            found = region.document(filter_stem)
            if isinstance(found, dict) and found.get("Name"):
                filters.append(found)
            else:
                withheld = True
                region.rejects.append(found if isinstance(found, Reject) else Reject(
                    region.tree.ref(region.rel(filter_stem)),
                    "expected a JSON object with 'Name' (aws guardduty get-filter)", json.dumps(found)[:2000]))
        if withheld:
            region.withheld = True
            continue  # the detector keeps its previous state (see _Withheld)
        record = {"provider": "aws", "service": "guardduty", "detection_type": "guardduty_detector",
                  "native_id": detector_id, "name": detector_id, "region": region.region,
                  "account_id": region.account_id, "api_object": {**document, "DetectorId": detector_id},
                  "related": {"suppression_filters": filters}}
        where = nul_path(record) if region.nul_files else None
        yield Reject(ref, nul_reason(where), json.dumps(document)[:2000]) if where else record


def _controls(region: Region) -> Iterator[dict | Reject]:
    for stem in sorted(s for s in region.files if s.startswith("securityhub-describe-standards-controls")):
        yield from region.records(CONTROLS, stem)


def read_region(region: Region) -> Iterator[dict | Reject]:
    yield from region.rejects
    region.rejects.clear()
    yield from region.records(METRIC_FILTERS, "logs-describe-metric-filters")
    yield from region.records(QUERY_DEFINITIONS, "logs-describe-query-definitions")
    yield from _alarms(region)
    yield from _event_rules(region)
    yield from _guardduty(region)
    yield from region.records(STANDARDS, "securityhub-get-enabled-standards")
    yield from _controls(region)
    yield from _config_rules(region)
    yield from region.rejects
    for stem in sorted(set(region.files) - region.used):
        known = (stem in SIMPLE_FILES or stem in JOINED_FILES or stem == TAGS_FILE or AUXILIARY.match(stem)
                 or stem.startswith(("events-list-targets-by-rule.", "guardduty-get-filter.")))
        if not known:
            yield Reject(region.tree.ref(region.rel(stem)),
                         "unknown export file name (docs/export-layout.md lists the expected files)")


# --- scopes: the unit a daily load skips when its files have not changed ------------------------------------

# The service each export file belongs to, by its command's prefix (logs-describe-metric-filters: cloudwatch_logs).
SERVICE_OF_COMMAND = {"logs": "cloudwatch_logs", "cloudwatch": "cloudwatch", "events": "eventbridge",
                      "guardduty": "guardduty", "securityhub": "securityhub", "config": "config"}
# The region's tag file belongs to every scope whose records it tags: a tag change reads those scopes again.
TAGGED_SERVICES = tuple(sorted({kind.service for kind in TAGGED_KINDS}))


@functools.cache
def reader_fingerprint() -> bytes:
    """What turns files into records (this reader, the record split and its volatile fields): part of every
    scope digest, so a digest taken by another reader never lets a scope be skipped."""
    return hashlib.sha256(Path(__file__).read_bytes() + record.split_fingerprint()).digest()


@dataclass
class Scope:
    """One service's export files in one region: its digest, and what they hold unless skipped."""

    region: str
    service: str  # '' for files of no known service (each is rejected as an unknown file)
    digest: str | None  # None when the reader was not asked for digests (read_export)
    skipped: bool = False
    items: list = field(default_factory=list)  # records and Rejects; empty when skipped
    incomplete: bool = False  # a record was left out because a side file it joins was rejected

    @property
    def key(self) -> str:
        return f"{self.region}/{self.service}"


class _Prefetched:
    """A tree whose files were already read (to digest them): Region reads them from memory."""

    def __init__(self, tree, contents: dict[str, bytes]):
        self.tree, self.contents = tree, contents

    def ref(self, rel: str) -> str:
        return self.tree.ref(rel)

    def read(self, rel: str) -> bytes:
        return self.contents[rel]


def _digest(contents: dict[str, bytes]) -> str:
    digest = hashlib.sha256(reader_fingerprint())
    for rel in sorted(contents):
        digest.update(b"%s\0%d\0" % (rel.rsplit("/", 1)[-1].encode(), len(contents[rel])))
        digest.update(contents[rel])
    return digest.hexdigest()


def read_account_scopes(tree, account_id: str, known: Mapping[str, str] | None = None) -> Iterator[Scope | Reject]:
    """The account's scopes, region by region. Given `known` (the previous scan's digests, possibly none),
    each scope is digested and one whose digest is `known[scope.key]` is not parsed; without it, nothing is
    hashed. A Google Cloud project or Azure subscription is read by cloud_exports."""
    from dagster_project.lib.sources import cloud_exports

    if cloud_exports.provider_of(account_id):
        yield from cloud_exports.read_scopes(tree, account_id, known)
        return
    regions, files = tree.list_dir(f"accounts/{account_id}")
    for name in files:
        yield Reject(tree.ref(f"accounts/{account_id}/{name}"), "file outside a region directory")
    for region in regions:
        if not REGION.match(region):
            yield Reject(tree.ref(f"accounts/{account_id}/{region}"), "directory name is not an AWS region")
            continue
        base = f"accounts/{account_id}/{region}/"
        _, region_files = tree.list_dir(base.rstrip("/"))
        by_service: dict[str, list[str]] = {}
        tag_files = []
        for name in region_files:
            if name.removesuffix(".gz").removesuffix(".json") == TAGS_FILE:
                tag_files.append(name)
                continue
            by_service.setdefault(SERVICE_OF_COMMAND.get(name.partition("-")[0], ""), []).append(name)
        tagged = [s for s in TAGGED_SERVICES if s in by_service]
        for service in tagged:  # a tag file with none of its services' files tags nothing: it is not read
            by_service[service] += tag_files
        for service, names in sorted(by_service.items()):
            contents = {base + name: tree.read(base + name) for name in names}
            scope = Scope(region, service, None if known is None else _digest(contents))
            if service and known and known.get(scope.key) == scope.digest:
                scope.skipped = True
            else:
                reader = Region(_Prefetched(tree, contents), account_id, region, names,
                                report_tags=service == (tagged or [None])[0])
                scope.items = list(read_region(reader))
                scope.incomplete = reader.withheld
            yield scope


def read_account(tree, account_id: str) -> Iterator[dict | Reject]:
    for scope in read_account_scopes(tree, account_id):
        if isinstance(scope, Reject):
            yield scope
        else:
            yield from scope.items


def accounts_in(tree) -> Iterator[str | Reject]:
    """The export's account directories in id order (anything else there is rejected), then its Google Cloud
    projects and Azure subscriptions (cloud_exports)."""
    from dagster_project.lib.sources import cloud_exports

    accounts, files = tree.list_dir("accounts")
    for name in files:
        yield Reject(tree.ref(f"accounts/{name}"), "file outside an account directory")
    for account_id in accounts:
        if not ACCOUNT_ID.match(account_id):
            yield Reject(tree.ref(f"accounts/{account_id}"), "directory name is not a 12-digit AWS account id")
            continue
        yield account_id
    yield from cloud_exports.accounts_in(tree)


def read_export(export_dir: Path | str) -> Iterator[dict | Reject]:
    """Every detection in the export, all of one account's records consecutively, accounts in id order."""
    tree = tree_for(export_dir)
    for account in accounts_in(tree):
        if isinstance(account, Reject):
            yield account
        else:
            yield from read_account(tree, account)
