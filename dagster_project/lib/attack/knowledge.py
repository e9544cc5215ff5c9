"""External knowledge (CTID Mappings Explorer files, the TrailDiscover and Stratus Red Team folders): read and
checked here, derived in SQL. Objects are kept verbatim; provenance (file, sha256, licence) goes into the document's metadata."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from dagster_project.lib.attack.bundle import BundleError
from dagster_project.lib.warehouse.storable import JSON_NUL, nul_path, nul_reason


@dataclass
class KnowledgeDocument:
    source: str
    source_file: str
    sha256: str
    metadata: dict[str, Any]
    objects: list[dict[str, Any]] = field(repr=False)


def parse_ctid(source: str, data: bytes) -> KnowledgeDocument:
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(source, "(file)", f"not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("mapping_objects"), list) or "metadata" not in doc:
        raise BundleError(source, "(file)", "not a Mappings Explorer file (needs metadata and mapping_objects)")
    if not isinstance(doc["metadata"], dict) or not doc["metadata"].get("attack_version"):
        raise BundleError(source, "metadata", "no attack_version: cannot tell which ATT&CK release it maps to")
    where = nul_path(doc, "") if JSON_NUL in data else None
    if where:
        raise BundleError(source, where, nul_reason(where))
    return KnowledgeDocument(source=source, source_file=PurePath(source).name,
                             sha256=hashlib.sha256(data).hexdigest(), metadata=doc["metadata"],
                             objects=doc["mapping_objects"])


CTID = "ctid_mappings_explorer"
TRAILDISCOVER = "traildiscover"
TRAILDISCOVER_LICENCE = "CC BY 4.0"
# what each TrailDiscover event file must carry, with the JSON type the staging model reads it as
_TRAILDISCOVER_FIELDS = {"eventName": str, "eventSource": str, "mitreAttackTechniques": list,
                         "mitreAttackSubTechniques": list, "usedInWild": bool, "incidents": list}


def parse_traildiscover(source: str, files: Mapping[str, bytes], licence: bytes | None = None,
                        upstream: bytes | None = None) -> KnowledgeDocument:
    """TrailDiscover (CloudTrail event -> ATT&CK techniques, usedInWild, published incidents) as one document.

    `files` maps each event file's path inside the folder ('events/CloudTrail/StopLogging.json') to its bytes;
    `licence` and `upstream` are the folder's LICENSE and SOURCE files. Objects are the event files verbatim,
    in path order; metadata['files'][ordinal] names each object's file and sha256, so every indicator and
    incident count derived in SQL traces back to a file. The document's sha256 covers every file's path and
    hash and the licence, so an unchanged folder is skipped on reload."""
    if not files:
        raise BundleError(source, "events/", "no event files (expected events/<Service>/<Event>.json)")
    text = (licence or b"").decode("utf-8", "replace")
    if "Attribution 4.0 International" not in text:
        raise BundleError(source, "LICENSE", "not the CC BY 4.0 licence TrailDiscover is published under: "
                                             "cannot record the licence of what is loaded")
    objects, listing = [], []
    for path in sorted(files):
        data = files[path]
        try:
            event = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(source, path, f"not JSON ({exc})") from None
        if not isinstance(event, dict):
            raise BundleError(source, path, "not a TrailDiscover event (a JSON object)")
        where = nul_path(event) if JSON_NUL in data else None
        if where:
            raise BundleError(source, path, nul_reason(where))
        for name, kind in _TRAILDISCOVER_FIELDS.items():
            if not isinstance(event.get(name), kind):
                raise BundleError(source, path, f"{name} missing or not a {kind.__name__}")
        objects.append(event)
        listing.append({"path": path, "sha256": hashlib.sha256(data).hexdigest()})
    return _folder_document(source, objects, listing, ("path", "sha256"), licence, upstream,
                            {"knowledge_source": TRAILDISCOVER, "licence": TRAILDISCOVER_LICENCE},
                            {"event_count": len(objects)})


def read_traildiscover(folder: str | Path) -> KnowledgeDocument:
    """The TrailDiscover folder on disk: every events/<Service>/<Event>.json (the .json.cloudtrail example
    records are not read), LICENSE and SOURCE."""
    root = Path(folder).expanduser()
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "events").glob("*/*.json")}
    licence, upstream = root / "LICENSE", root / "SOURCE"
    return parse_traildiscover(str(root), files, licence.read_bytes() if licence.is_file() else None,
                               upstream.read_bytes() if upstream.is_file() else None)


STRATUS = "stratus_red_team"
STRATUS_LICENCE = "Apache-2.0"
_STRATUS_TECHNIQUES = "docs/attack-techniques/AWS"
_STRATUS_LOGS = "docs/detonation-logs"


def parse_stratus_technique(path: str, text: str) -> dict[str, Any]:
    """One Stratus Red Team technique page -> {id, title, tactics, catalog_ids}.

    The page's "## Mappings" section lists the ATT&CK tactics ("- MITRE ATT&CK" then "    - Impact") and, for
    about half the techniques, Threat Technique Catalog for AWS entries ending "(T1485.A003)": ATT&CK ids, or
    the catalog's AWS-specific refinements of one (cut to their ATT&CK parent in SQL)."""
    section = re.search(r"^## Mappings\s*$(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    if not section:
        raise BundleError("stratus-red-team", path, "no '## Mappings' section: cannot tell what it maps to")
    tactics, catalog_ids, heading = [], [], None
    for line in section.group(1).splitlines():
        if line.startswith("- "):
            heading = line[2:].strip().rstrip(":")
        elif line.strip().startswith("- ") and heading == "MITRE ATT&CK":
            tactics.append(line.strip()[2:].strip())
        elif line.strip().startswith("- ") and heading == "Threat Technique Catalog for AWS":
            catalog_ids += re.findall(r"\((T\d{4}(?:\.[A-Z]?\d{3})?)\)\s*$", line.strip())
    if not tactics:
        raise BundleError("stratus-red-team", path, "no MITRE ATT&CK tactic under '## Mappings'")
    title = re.search(r"^title:\s*(.+?)\s*$", text, re.MULTILINE)
    return {"id": PurePath(path).stem, "title": title.group(1) if title else PurePath(path).stem,
            "tactics": tactics, "catalog_ids": catalog_ids}


def parse_stratus(source: str, pages: Mapping[str, bytes], logs: Mapping[str, bytes], licence: bytes | None = None,
                  upstream: bytes | None = None) -> KnowledgeDocument:
    """Stratus Red Team's AWS techniques (ATT&CK tactics, Threat Technique Catalog ids) with the CloudTrail
    events each detonation produced, as one document.

    `pages` maps each technique page's path ('docs/attack-techniques/AWS/aws.impact.x.md') to its bytes, `logs`
    each detonation log's path ('docs/detonation-logs/aws.impact.x.json', a JSON list of CloudTrail records).
    An object per technique: the page's mappings and the log's distinct (eventSource, eventName, readOnly) with
    their record count (the records themselves are replay data, not knowledge). metadata['files'][ordinal]
    names each object's page and log with their sha256."""
    if not pages:
        raise BundleError(source, _STRATUS_TECHNIQUES, "no technique pages (expected aws.<tactic>.<name>.md)")
    if "Apache License" not in (licence or b"").decode("utf-8", "replace"):
        raise BundleError(source, "LICENSE", "not the Apache 2.0 licence Stratus Red Team is published under: "
                                             "cannot record the licence of what is loaded")
    by_stem = {PurePath(p).stem: p for p in logs}
    objects, listing = [], []
    for path in sorted(pages):
        technique = parse_stratus_technique(path, pages[path].decode("utf-8", "replace"))
        log_path = by_stem.get(technique["id"])
        events: dict[tuple, int] = {}
        if log_path is not None:
            try:
                records = json.loads(logs[log_path])
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise BundleError(source, log_path, f"not JSON ({exc})") from None
            if not isinstance(records, list):
                raise BundleError(source, log_path, "not a detonation log (a JSON list of CloudTrail records)")
            for n, record in enumerate(records):
                if not (isinstance(record, dict) and isinstance(record.get("eventSource"), str)
                        and isinstance(record.get("eventName"), str)):
                    raise BundleError(source, f"{log_path}[{n}]", "not a CloudTrail record (eventSource, eventName)")
                key = (record["eventSource"], record["eventName"], record.get("readOnly"))
                events[key] = events.get(key, 0) + 1
        technique["events"] = [{"eventSource": s, "eventName": n, "readOnly": r, "records": c}
                               for (s, n, r), c in sorted(events.items(), key=lambda kv: (kv[0][0], kv[0][1]))]
        objects.append(technique)
        listing.append({"path": path, "sha256": hashlib.sha256(pages[path]).hexdigest(), "detonation_log": log_path,
                        "detonation_sha256": hashlib.sha256(logs[log_path]).hexdigest() if log_path else None})
    return _folder_document(source, objects, listing, ("path", "sha256", "detonation_sha256"), licence, upstream,
                            {"knowledge_source": STRATUS, "licence": STRATUS_LICENCE},
                            {"technique_count": len(objects)})


def read_stratus(folder: str | Path) -> KnowledgeDocument:
    """The Stratus Red Team folder on disk: docs/attack-techniques/AWS/aws.*.md, docs/detonation-logs/aws.*.json,
    LICENSE and SOURCE."""
    root = Path(folder).expanduser()
    pages = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / _STRATUS_TECHNIQUES).glob("aws.*.md")}
    logs = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / _STRATUS_LOGS).glob("aws.*.json")}
    licence, upstream = root / "LICENSE", root / "SOURCE"
    return parse_stratus(str(root), pages, logs, licence.read_bytes() if licence.is_file() else None,
                         upstream.read_bytes() if upstream.is_file() else None)


def is_stratus(ref: str) -> bool:
    """A local folder with docs/attack-techniques/: Stratus Red Team's layout."""
    return not ref.startswith(("https://", "http://")) and (Path(ref).expanduser() / _STRATUS_TECHNIQUES).is_dir()


def is_traildiscover(ref: str) -> bool:
    """A local folder with an events/ folder: TrailDiscover's layout."""
    return not ref.startswith(("https://", "http://")) and (Path(ref).expanduser() / "events").is_dir()


def read_source(ref: str, fetch: Callable[[str], bytes]) -> tuple[KnowledgeDocument, str]:
    """One DCV_KNOWLEDGE_SOURCE entry -> (document, knowledge_source): a TrailDiscover or Stratus Red Team folder,
    else a CTID Mappings Explorer file (path or URL, read with `fetch`)."""
    if is_stratus(ref):
        return read_stratus(ref), STRATUS
    if is_traildiscover(ref):
        return read_traildiscover(ref), TRAILDISCOVER
    return parse_ctid(ref, fetch(ref)), CTID


def _folder_document(source: str, objects: list[dict], listing: list[dict], digest_fields: tuple[str, ...],
                     licence: bytes | None, upstream: bytes | None, identity: dict, counts: dict) -> KnowledgeDocument:
    """A knowledge folder as one document: its digest covers every file listed (by `digest_fields`) and the
    licence, so a changed file or licence is a new version."""
    digest = hashlib.sha256()
    for item in listing:
        digest.update(("\0".join(str(item[f]) for f in digest_fields) + "\n").encode())
    digest.update(hashlib.sha256(licence or b"").hexdigest().encode())
    metadata = {**identity, "licence_sha256": hashlib.sha256(licence or b"").hexdigest(),
                "upstream": (upstream or b"").decode("utf-8", "replace").strip() or None,
                "provider": "aws", **counts, "files": listing}
    return KnowledgeDocument(source=source, source_file=PurePath(source).name or source,
                             sha256=digest.hexdigest(), metadata=metadata, objects=objects)
