"""Google Cloud projects and Azure subscriptions in an export directory: what gcloud and az print with
`--format=json` / `--output json`, one file per command (docs/export-layout.md, "Google Cloud and Azure").

    <dir>/projects/<project_id>/<command>.json[.gz]                 gcloud ... --project <project_id>
    <dir>/subscriptions/<subscription_id>/<command>[.<qualifier>].json[.gz]   az ... --subscription <id>

A project or subscription is read like an AWS account (exports.read_account_scopes hands it here): one scope per
service, digested so an unchanged scope is skipped, and each bad file or item becomes one Reject naming it. The
records carry provider gcp/azure and region 'global' (none of these detections is regional: a Cloud Logging
metric sees its project's logs, an Azure alert its scopes); the configuration's own location stays in api_object.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster_project.lib.sources.accounts import Reject
from dagster_project.lib.warehouse.storable import nul_path, nul_reason

# GCP project ids: 6-30 lowercase letters, digits and hyphens, starting with a letter (never 12 digits, so never
# an AWS account id); Azure subscription ids are GUIDs.
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
SUBSCRIPTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PROVIDER_FOLDERS = {"projects": "gcp", "subscriptions": "azure"}
REGION = "global"


@dataclass(frozen=True)
class Kind:
    """One list-shaped gcloud/az response: the service it belongs to and how an item becomes a record."""

    stem: str  # file name without .json; a qualified file is <stem>.<qualifier>
    provider: str
    service: str
    detection_type: str
    required: tuple[str, ...]
    native_id: Callable[[dict], str]
    name: Callable[[dict], str]
    qualified: bool = False  # one file per qualifier (a Sentinel workspace)


def _props(item: dict) -> dict:
    """An ARM resource's own fields: the REST API nests them under 'properties', az prints them flat."""
    return item["properties"] if isinstance(item.get("properties"), dict) else item


KINDS = (
    Kind("logging-metrics-list", "gcp", "cloud_logging", "log_metric", ("name", "filter"),
         lambda o: o["name"], lambda o: o["name"].rsplit("/", 1)[-1]),
    Kind("monitoring-policies-list", "gcp", "cloud_monitoring", "alert_policy", ("name", "conditions"),
         lambda o: o["name"], lambda o: o.get("displayName") or o["name"]),
    Kind("scc-manage-services-list", "gcp", "security_command_center", "scc_service", ("name",),
         lambda o: o["name"], lambda o: o["name"].rsplit("/", 1)[-1]),
    Kind("monitor-activity-log-alert-list", "azure", "azure_monitor", "activity_log_alert", ("id", "name"),
         lambda o: o["id"], lambda o: o["name"]),
    Kind("monitor-scheduled-query-list", "azure", "azure_monitor", "scheduled_query_rule", ("id", "name"),
         lambda o: o["id"], lambda o: _props(o).get("displayName") or o["name"]),
    Kind("sentinel-alert-rule-list", "azure", "sentinel", "sentinel_rule", ("id", "name"),
         lambda o: o["id"], lambda o: _props(o).get("displayName") or o["name"], qualified=True),
    Kind("security-pricing-list", "azure", "defender_for_cloud", "defender_plan", ("id", "name"),
         lambda o: o["id"], lambda o: o["name"]),
)
KIND_OF = {k.stem: k for k in KINDS}
# side files joined onto the records of their scope (as AWS's alarm history and EventBridge targets)
CHANNELS = "monitoring-channels-list"  # gcloud beta monitoring channels list: joined onto alert policies
ACTION_GROUPS = "monitor-action-group-list"  # az monitor action-group list: joined onto Azure Monitor alerts
SIDE_FILES = {CHANNELS: ("gcp", "cloud_monitoring"), ACTION_GROUPS: ("azure", "azure_monitor")}
# The project's or subscription's own description (optional): read into raw.org_accounts by the org_accounts
# asset (read_listings), never part of a detection scope. The second file of each pair is added to the first's
# entry, as an AWS account's tags are added to its ListAccounts entry.
PROJECT_FILE = "projects-describe"  # gcloud projects describe P --format=json
ANCESTORS_FILE = "projects-get-ancestors"  # gcloud projects get-ancestors P --format=json: its organization
SUBSCRIPTION_FILE = "account-show"  # az account show --subscription S
SUBSCRIPTION_TAGS_FILE = "tag-list"  # az tag list --resource-id /subscriptions/S
LISTING_FILES = {"gcp": (PROJECT_FILE, ANCESTORS_FILE, "ancestors"),
                 "azure": (SUBSCRIPTION_FILE, SUBSCRIPTION_TAGS_FILE, "tags")}
LISTING_STEMS = {stem for main, extra, _ in LISTING_FILES.values() for stem in (main, extra)}


def provider_of(account_id: str) -> str | None:
    """'gcp' for a project id, 'azure' for a subscription id, None for anything else (an AWS account)."""
    if SUBSCRIPTION_ID.match(account_id):
        return "azure"
    if PROJECT_ID.match(account_id):
        return "gcp"
    return None


def folder_of(provider: str) -> str:
    return {v: k for k, v in PROVIDER_FOLDERS.items()}[provider]


def accounts_in(tree) -> Iterator[str | Reject]:
    """The export's project and subscription directories, in id order; a name of the wrong shape is rejected."""
    for folder, provider in PROVIDER_FOLDERS.items():
        names, files = tree.list_dir(folder)
        for name in files:
            yield Reject(tree.ref(f"{folder}/{name}"), f"file outside a {provider} {folder[:-1]} directory")
        for name in names:
            if provider_of(name) != provider:
                what = "a Google Cloud project id" if provider == "gcp" else "an Azure subscription id (a GUID)"
                yield Reject(tree.ref(f"{folder}/{name}"), f"directory name is not {what}")
                continue
            yield name


def _stem(name: str) -> str | None:
    return name.removesuffix(".gz").removesuffix(".json") if name.endswith((".json", ".json.gz")) else None


def _kind_of(stem: str) -> Kind | None:
    base, _, qualifier = stem.partition(".")
    kind = KIND_OF.get(base)
    if kind is None or bool(qualifier) != kind.qualified:
        return None
    return kind


def service_of(name: str) -> str:
    """The scope a file belongs to ('' for a name no command writes: it is rejected)."""
    stem = _stem(name) or ""
    if stem in SIDE_FILES:
        return SIDE_FILES[stem][1]
    kind = _kind_of(stem)
    return kind.service if kind else ""


def _load(raw: bytes, ref: str) -> object:
    import gzip

    try:
        if ref.endswith(".gz"):
            raw = gzip.decompress(raw)
        return json.loads(raw)
    except (OSError, EOFError, ValueError) as exc:
        return Reject(ref, f"not valid JSON: {exc}", raw[:2000].decode("utf-8", "replace"))


def _items(document: object, ref: str, command: str) -> list | Reject:
    """gcloud and az print a JSON list; the REST API (and some az versions) wrap it in {"value": [...]}."""
    if isinstance(document, Reject):
        return document
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        return document["value"]
    if isinstance(document, list):
        return document
    return Reject(ref, f"expected a JSON list (the output of {command})", json.dumps(document)[:2000])


COMMANDS = {
    "logging-metrics-list": "gcloud logging metrics list --format=json",
    "monitoring-policies-list": "gcloud monitoring policies list --format=json",
    "monitoring-channels-list": "gcloud beta monitoring channels list --format=json",
    "scc-manage-services-list": "gcloud scc manage services list --format=json",
    "monitor-activity-log-alert-list": "az monitor activity-log alert list",
    "monitor-scheduled-query-list": "az monitor scheduled-query list",
    "monitor-action-group-list": "az monitor action-group list",
    "sentinel-alert-rule-list": "az sentinel alert-rule list",
    "security-pricing-list": "az security pricing list",
    PROJECT_FILE: "gcloud projects describe --format=json",
    ANCESTORS_FILE: "gcloud projects get-ancestors --format=json",
    SUBSCRIPTION_FILE: "az account show",
    SUBSCRIPTION_TAGS_FILE: "az tag list --resource-id /subscriptions/<id>",
}


def read_files(contents: dict[str, bytes], ref: Callable[[str], str], account_id: str) -> Iterator[dict | Reject]:
    """The records of one scope's files (`contents`: file name -> bytes), side files joined on."""
    provider = provider_of(account_id)
    loaded: dict[str, list | Reject] = {}
    names: dict[str, str] = {}
    for name in sorted(contents):
        stem = _stem(name)
        if stem is None:
            continue  # a README: not an export file
        if stem in names:
            yield Reject(ref(name), f"duplicate of {names[stem]}: keep either .json or .json.gz")
            continue
        names[stem] = name
        kind = _kind_of(stem)
        if stem not in SIDE_FILES and (kind is None or kind.provider != provider):
            yield Reject(ref(name), "unknown export file name (docs/export-layout.md lists the expected files)")
            continue
        loaded[stem] = _items(_load(contents[name], ref(name)), ref(name), COMMANDS[stem.partition(".")[0]])
    joins = {}
    for side in (CHANNELS, ACTION_GROUPS):
        if side in loaded:
            items = loaded.pop(side)
            if isinstance(items, Reject):
                yield items  # the alerts load without the join, as AWS's records without a bad side file
                continue
            joins[side] = {str(i.get("id") or i.get("name")).lower(): i for i in items if isinstance(i, dict)}
    for stem, items in sorted(loaded.items()):
        if isinstance(items, Reject):
            yield items
            continue
        kind = _kind_of(stem)
        for i, item in enumerate(items):
            missing = [k for k in kind.required if not isinstance(item, dict) or not item.get(k)]
            if missing:
                yield Reject(f"{ref(names[stem])}#[{i}]", f"item lacks {', '.join(missing)}", json.dumps(item)[:2000])
                continue
            yield {"provider": kind.provider, "service": kind.service, "detection_type": kind.detection_type,
                   "native_id": kind.native_id(item), "name": kind.name(item), "region": REGION,
                   "account_id": account_id, "api_object": item, "related": _related(kind, item, joins)}


def _related(kind: Kind, item: dict, joins: dict) -> dict:
    """The notification channels a policy names, or the action groups an alert names, as listed (an entry the
    list lacks is left out: deleted, or in another project/subscription). Absent when the side file is."""
    if kind.detection_type == "alert_policy" and CHANNELS in joins:
        named = item.get("notificationChannels") or []
        return {"notification_channels": [joins[CHANNELS][n.lower()] for n in named
                                          if isinstance(n, str) and n.lower() in joins[CHANNELS]]}
    if kind.detection_type in ("activity_log_alert", "scheduled_query_rule") and ACTION_GROUPS in joins:
        groups = ((_props(item).get("actions") or {}).get("actionGroups")) or []
        ids = [g.get("actionGroupId") if isinstance(g, dict) else g for g in groups]
        return {"action_groups": [joins[ACTION_GROUPS][i.lower()] for i in ids
                                  if isinstance(i, str) and i.lower() in joins[ACTION_GROUPS]]}
    return {}


def reader_fingerprint() -> bytes:
    return hashlib.sha256(Path(__file__).read_bytes()).digest()


def declared_tags(record: dict) -> list[tuple[str, str]]:
    """The ATT&CK techniques a Sentinel analytics rule declares about itself: [(technique id, source tag)]. Kept
    as declared mappings, never read by inference (the parser ignores them)."""
    if not isinstance(record, dict) or record.get("detection_type") != "sentinel_rule":
        return []
    props = _props(record.get("api_object") or {})
    found = []
    for field in ("techniques", "subTechniques"):
        for value in props.get(field) or []:
            if isinstance(value, str) and re.fullmatch(r"T\d{4}(\.\d{3})?", value.strip().upper()):
                found.append((value.strip().upper(), f"{field}:{value}"))
    return list(dict.fromkeys(found))


def read_scopes(tree, account_id: str, known=None):
    """A project's or subscription's scopes (one per service), as exports.read_account_scopes gives an AWS
    account's: given `known` digests, a scope whose digest is unchanged is skipped."""
    from dagster_project.lib.sources.exports import Scope, _digest

    folder = folder_of(provider_of(account_id))
    base = f"{folder}/{account_id}/"
    dirs, files = tree.list_dir(base.rstrip("/"))
    for name in dirs:
        yield Reject(tree.ref(base + name), "directory inside a project or subscription directory "
                                            "(its files sit directly in it)")
    by_service: dict[str, list[str]] = {}
    for name in files:
        if _stem(name) in LISTING_STEMS:
            continue  # the project's or subscription's own description: the org_accounts asset reads it
        by_service.setdefault(service_of(name), []).append(name)
    for service, names in sorted(by_service.items()):
        contents = {base + name: tree.read(base + name) for name in names}
        digest = None if known is None else _digest({**contents, "\0cloud_reader": reader_fingerprint()})
        scope = Scope(REGION, service, digest)
        if service and known and known.get(scope.key) == scope.digest:
            scope.skipped = True
        else:
            scope.items = list(read_files({n: contents[base + n] for n in names}, lambda n: tree.ref(base + n),
                                          account_id))
        yield scope


# --- the projects' and subscriptions' own descriptions (raw.org_accounts) ------------------------------------

def _is_str_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def check_listed(provider: str, entry: object, account_id: str | None = None) -> str | None:
    """Why a project's or subscription's description cannot be an account (None when it can): the fields the
    accounts mart reads must have their CLI types, and name the folder's project or subscription."""
    if not isinstance(entry, dict):
        return "expected a JSON object"
    if provider == "gcp":
        if not (isinstance(entry.get("projectId"), str) and PROJECT_ID.match(entry["projectId"])):
            return "'projectId' must be a Google Cloud project id"
        if account_id and entry["projectId"] != account_id:
            return f"projectId {entry['projectId']} is not the folder's project {account_id}"
        if "labels" in entry and not _is_str_map(entry["labels"]):
            return "'labels' must be an object of strings"
        parent = entry.get("parent")
        if parent is not None and not (isinstance(parent, dict) and isinstance(parent.get("id"), str)
                                       and isinstance(parent.get("type"), str)):
            return "'parent' must be an object with 'type' and 'id'"
        ancestors = entry.get("ancestors")
        if ancestors is not None and not (isinstance(ancestors, list) and all(
                isinstance(a, dict) and isinstance(a.get("id"), str) and isinstance(a.get("type"), str)
                for a in ancestors)):
            return "expected a JSON list of {id, type} (gcloud projects get-ancestors)"
    else:
        found = entry.get("id")
        if not (isinstance(found, str) and SUBSCRIPTION_ID.match(found.lower())):
            return "'id' must be an Azure subscription id (a GUID)"
        if account_id and found.lower() != account_id:
            return f"id {found} is not the folder's subscription {account_id}"
        if "tenantId" in entry and not isinstance(entry["tenantId"], str):
            return "'tenantId' must be a string"
        if "tags" in entry and not _is_str_map(entry["tags"]):
            return "'tags' must be an object of strings (az tag list: properties.tags)"
    if entry.get("name") is not None and not isinstance(entry["name"], str):
        return "'name' must be a string"
    where = nul_path(entry)
    return nul_reason(where) if where else None


def listed_account(provider: str, entry: dict) -> tuple[str, str | None, str | None, str | None]:
    """(account id, name, organization id, status) of a checked description. The organization of a project is
    its Google Cloud organization's number (its parent's, or the organization among its ancestors when its
    parent is a folder); of a subscription, its Microsoft Entra tenant id. Neither is an AWS organization: a
    tenant role sees them when it is the role of that organization or tenant id (docs/operations.md)."""
    if provider == "gcp":
        chain = [entry.get("parent") or {}, *(entry.get("ancestors") or [])]
        organization = next((a["id"] for a in chain if a.get("type") == "organization"), None)
        return entry["projectId"], entry.get("name"), organization, entry.get("lifecycleState")
    return entry["id"].lower(), entry.get("name"), (entry.get("tenantId") or "").lower() or None, entry.get("state")


def _read_document(tree, rel: str) -> object:
    return _load(tree.read(rel), tree.ref(rel))


def read_listings(tree) -> tuple[list[tuple[str, dict]], list[Reject]]:
    """Each project's and subscription's own description: [(provider, entry)] in folder order, the entry being
    what `gcloud projects describe` / `az account show` printed, verbatim, with the ancestors (`gcloud projects
    get-ancestors`) added as "ancestors" / the tags (`az tag list`'s properties.tags) as "tags". A folder without
    the description has none (its account is named by its id); a bad file is rejected with its reason, and its
    folder's detections load all the same (a bad ancestors or tags file: the entry loads without it)."""
    entries, rejects = [], []
    for account_id in accounts_in(tree):
        if isinstance(account_id, Reject):
            continue  # the detections' load quarantines a folder of the wrong name
        provider = provider_of(account_id)
        main, extra, key = LISTING_FILES[provider]
        base = f"{folder_of(provider)}/{account_id}/"
        found: dict[str, str] = {}
        for name in tree.list_dir(base.rstrip("/"))[1]:
            stem = _stem(name)
            if stem in (main, extra):
                if stem in found:
                    rejects.append(Reject(tree.ref(base + name), f"duplicate of {found[stem]}: keep either .json or "
                                                                 ".json.gz"))
                    continue
                found[stem] = name
        if main not in found:
            continue
        ref = tree.ref(base + found[main])
        entry = _read_document(tree, base + found[main])
        if isinstance(entry, Reject):
            rejects.append(entry)
            continue
        reason = check_listed(provider, entry, account_id)
        if reason:
            rejects.append(Reject(ref, f"{reason} ({COMMANDS[main]})", json.dumps(entry)[:2000]))
            continue
        if extra in found:
            added = _side_field(provider, _read_document(tree, base + found[extra]))
            candidate = {**entry, key: added} if not isinstance(added, Reject) else None
            reason = added.reason if isinstance(added, Reject) else check_listed(provider, candidate, account_id)
            if reason:
                rejects.append(Reject(tree.ref(base + found[extra]), f"{reason} ({COMMANDS[extra]})",
                                      None if isinstance(added, Reject) else json.dumps(added)[:2000]))
            else:
                entry = candidate
        entries.append((provider, entry))
    return entries, rejects


def _side_field(provider: str, document: object) -> object:
    """The ancestors list (gcloud prints a list of {id, type}), or a subscription's tags (az tag list prints the
    tags resource: {"properties": {"tags": {...}}})."""
    if isinstance(document, Reject):
        return document
    if provider == "gcp":
        return document
    props = document.get("properties") if isinstance(document, dict) else None
    if not (isinstance(props, dict) and isinstance(props.get("tags", {}), dict)):
        return Reject("", "expected the tags resource: an object with 'properties': {'tags': {...}}")
    return props.get("tags") or {}


SNAPSHOT_KEYS = {"gcp": "Projects", "azure": "Subscriptions"}  # beside "Accounts" in the day's listing snapshot


def snapshot_listings(entries: list[tuple[str, dict]]) -> dict[str, list[dict]]:
    """The descriptions as the day's listing snapshot keeps them (only the keys that have some)."""
    kept: dict[str, list[dict]] = {}
    for provider, entry in entries:
        kept.setdefault(SNAPSHOT_KEYS[provider], []).append(entry)
    return kept


def parse_snapshot_listings(document: object, ref: str) -> tuple[list[tuple[str, dict]], list[Reject]]:
    """The descriptions a listing snapshot kept, each checked again (a bad one rejected by itself)."""
    entries, rejects = [], []
    for provider, key in SNAPSHOT_KEYS.items():
        found = document.get(key) if isinstance(document, dict) else None
        for i, entry in enumerate(found if isinstance(found, list) else []):
            reason = check_listed(provider, entry)
            if reason:
                rejects.append(Reject(f"{ref}#{key}[{i}]", reason, json.dumps(entry)[:2000]))
            else:
                entries.append((provider, entry))
    return entries, rejects
