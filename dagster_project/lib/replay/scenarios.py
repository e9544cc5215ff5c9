"""Replay scenarios: an ATT&CK technique and the CloudTrail records an attack on it produced, read from a folder.

Three layouts (docs/replay.md, "Scenario folders"), recognised by what the folder holds:
- Stratus Red Team: docs/detonation-logs/<technique>.json (the records), docs/attack-techniques/AWS/<technique>.md
  (title, description, ATT&CK ids in its Mappings section; AWS-specific ids such as T1485.A003 are cut to their
  parent, T1485, which is the ATT&CK technique they refine);
- TrailDiscover: events/<Service>/<Event>.json (techniques, published incidents) and its example records
  <Event>.json.cloudtrail; an event without example records is no scenario;
- your own: <folder>/<scenario>/scenario.yaml (technique_ids, name, optional description and incidents) and
  the records beside it (*.json: a list, CloudTrail's {"Records": [...]} file, or one record; *.jsonl; either
  may be gzipped).

A file that is not CloudTrail JSON, a record without eventSource/eventName, a scenario without a technique: each
is a reject (file, reason) for raw.quarantine; the rest of the folder loads. Nothing here touches a database.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagster_project.lib.attack.bundle import BundleError
from dagster_project.lib.attack.knowledge import parse_stratus_technique

STRATUS = "stratus-red-team"
TRAILDISCOVER = "traildiscover"
SCENARIO_FILE = "scenario.yaml"
TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")
_RECORD_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")

Reject = tuple[str, str, str | None]  # (object_ref, reason, payload) as raw.quarantine takes them


@dataclass
class ScenarioRecord:
    ordinal: int
    source_file: str
    event_source: str
    event_name: str
    record: dict[str, Any]


@dataclass
class Scenario:
    key: str
    source: str
    name: str
    description: str | None
    technique_ids: list[str]
    incidents: list[dict[str, Any]]
    provenance: dict[str, Any]
    sha256: str
    records: list[ScenarioRecord] = field(repr=False)

    @property
    def source_files(self) -> list[str]:
        return sorted({r.source_file for r in self.records})


@dataclass
class FolderRead:
    source: str
    folder: str
    scenarios: list[Scenario]
    rejects: list[Reject]
    skipped: int = 0  # entries that are not scenarios and not errors (a TrailDiscover event with no examples)


class ScenarioFileError(ValueError):
    pass


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest(listing: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for path, sha in sorted(listing):
        h.update(f"{path}\0{sha}\n".encode())
    return h.hexdigest()


def parse_records(name: str, data: bytes) -> list[Any]:
    """A records file's items: a JSON list, CloudTrail's {"Records": [...]}, one record object, or JSON lines
    (.jsonl); gzipped when the name ends in .gz. Raises ScenarioFileError when it is none of these."""
    if name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ScenarioFileError(f"not gzip ({exc})") from None
        name = name[:-3]
    try:
        text = data.decode("utf-8")
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(f"not JSON ({exc})") from None
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        return doc["Records"]
    if isinstance(doc, dict) and ("eventSource" in doc or "eventName" in doc):
        return [doc]
    if isinstance(doc, list):
        return doc
    raise ScenarioFileError("not CloudTrail JSON: expected a list of records, {\"Records\": [...]} or one record")


def checked_records(root: Path, files: list[tuple[str, bytes]], rejects: list[Reject]) -> list[ScenarioRecord]:
    """The CloudTrail records of a scenario's files (paths relative to `root`), numbered in file order; a bad file
    or record is a reject naming the file."""
    records: list[ScenarioRecord] = []
    for name, data in files:
        try:
            items = parse_records(name, data)
        except ScenarioFileError as exc:
            rejects.append((str(root / name), str(exc), data[:2000].decode("utf-8", "replace")))
            continue
        for i, item in enumerate(items):
            missing = [k for k in ("eventSource", "eventName")
                       if not (isinstance(item, dict) and isinstance(item.get(k), str) and item[k])]
            if missing:
                rejects.append((f"{root / name} record {i}",
                                "not a CloudTrail record: no " + " or ".join(missing),
                                json.dumps(item, default=str)[:2000]))
                continue
            records.append(ScenarioRecord(len(records), name, item["eventSource"], item["eventName"], item))
    return records


def _licence(folder: Path) -> tuple[str | None, str | None]:
    """(licence name, upstream commit) from the folder's LICENSE and SOURCE files."""
    text = (folder / "LICENSE").read_text("utf-8", "replace") if (folder / "LICENSE").is_file() else ""
    licence = ("Apache-2.0" if "Apache License" in text else "CC BY 4.0" if "Attribution 4.0" in text
               else "MIT" if "MIT License" in text else None)
    upstream = (folder / "SOURCE").read_text("utf-8", "replace").strip() if (folder / "SOURCE").is_file() else None
    return licence, upstream or None


def _stratus_markdown(path: str, text: str) -> tuple[str | None, str | None, list[str]]:
    """(title, description, ATT&CK ids) of a Stratus technique page. Its Mappings are read as the knowledge
    loader reads them (knowledge.parse_stratus_technique), the catalog's refinements (T1485.A003) cut to the
    ATT&CK technique they refine; a page that loader refuses names no technique."""
    description = re.search(r"## Description\s*\n+(.+?)(?:\n\s*\n|$)", text, re.S)
    description = " ".join(description.group(1).split()) if description else None
    try:
        page = parse_stratus_technique(path, text)
    except BundleError:
        return None, description, []
    ids = sorted({cid if cid.rsplit(".", 1)[-1].isdigit() else cid.split(".")[0] for cid in page["catalog_ids"]})
    return page["title"], description, ids


def read_stratus(folder: Path) -> FolderRead:
    licence, upstream = _licence(folder)
    scenarios, rejects = [], []
    pages = folder / "docs" / "attack-techniques" / "AWS"
    for log in sorted((folder / "docs" / "detonation-logs").glob("*.json")):
        name = log.stem
        key = f"{STRATUS}/{name}"
        page = pages / f"{name}.md"
        title, description, ids = _stratus_markdown(str(page), page.read_text("utf-8", "replace")) if page.is_file() \
            else (None, None, [])
        data = log.read_bytes()
        log_ref = log.relative_to(folder).as_posix()
        records = checked_records(folder, [(log_ref, data)], rejects)
        if not records:
            rejects.append((str(log), "no CloudTrail record to replay", None))
            continue
        listing = [(log_ref, _sha(data))]
        if page.is_file():
            listing.append((page.relative_to(folder).as_posix(), _sha(page.read_bytes())))
        scenarios.append(Scenario(
            key=key, source=STRATUS, name=title or name, description=description, technique_ids=ids,
            incidents=[],
            provenance={"folder": str(folder), "licence": licence, "upstream": upstream,
                        "technique_page": page.relative_to(folder).as_posix() if page.is_file() else None,
                        "files": [{"path": p, "sha256": s} for p, s in listing]},
            sha256=_digest(listing), records=records))
    return FolderRead(STRATUS, str(folder), scenarios, rejects)


def _ids(entries: Any) -> list[str]:
    """'T1562.008 - Impair Defenses: ...' -> 'T1562.008'."""
    found = (TECHNIQUE_ID.match(str(e).strip()) for e in entries or [])
    return [m.group(0) for m in found if m]


def read_traildiscover(folder: Path) -> FolderRead:
    licence, upstream = _licence(folder)
    scenarios, rejects, skipped = [], [], 0
    for meta in sorted((folder / "events").glob("*/*.json")):
        examples = meta.with_name(meta.name + ".cloudtrail")
        rel = meta.relative_to(folder / "events").with_suffix("").as_posix()  # CloudTrail/StopLogging
        key = f"{TRAILDISCOVER}/{rel}"
        if not examples.is_file():
            skipped += 1
            continue
        meta_bytes = meta.read_bytes()
        try:
            event = json.loads(meta_bytes)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            rejects.append((str(meta), f"not a TrailDiscover event ({exc})", None))
            continue
        data = examples.read_bytes()
        ref = examples.relative_to(folder).as_posix()
        records = checked_records(folder, [(ref, data)], rejects)
        if not records:
            rejects.append((str(examples), "no CloudTrail record to replay", None))
            continue
        ids = sorted(set(_ids(event.get("mitreAttackTechniques")) + _ids(event.get("mitreAttackSubTechniques"))))
        incidents = [{"description": str(i.get("description") or i.get("link")), "link": str(i["link"])}
                     for i in event.get("incidents") or [] if isinstance(i, dict) and i.get("link")]
        listing = [(meta.relative_to(folder).as_posix(), _sha(meta_bytes)), (ref, _sha(data))]
        scenarios.append(Scenario(
            key=key, source=TRAILDISCOVER, name=f"{event.get('eventSource', '')} {event.get('eventName', '')}".strip(),
            description=event.get("description"), technique_ids=ids, incidents=incidents,
            provenance={"folder": str(folder), "licence": licence, "upstream": upstream,
                        "used_in_wild": event.get("usedInWild"),
                        "files": [{"path": p, "sha256": s} for p, s in listing]},
            sha256=_digest(listing), records=records))
    return FolderRead(TRAILDISCOVER, str(folder), scenarios, rejects, skipped)


def read_user_folder(folder: Path) -> FolderRead:
    """<folder>/<scenario>/scenario.yaml + its record files; the folder's name is the scenarios' source."""
    source = folder.name
    scenarios, rejects = [], []
    for directory in sorted(p for p in folder.iterdir() if p.is_dir()):
        key = f"{source}/{directory.name}"
        spec_file = directory / SCENARIO_FILE
        if not spec_file.is_file():
            rejects.append((str(directory), f"no {SCENARIO_FILE}: a scenario names its ATT&CK technique there", None))
            continue
        spec_bytes = spec_file.read_bytes()
        try:
            spec = yaml.safe_load(spec_bytes)
        except yaml.YAMLError as exc:
            rejects.append((str(spec_file), f"not YAML ({exc})", spec_bytes[:2000].decode("utf-8", "replace")))
            continue
        if not isinstance(spec, dict):
            rejects.append((str(spec_file), "not a mapping (technique_ids, name, ...)", None))
            continue
        ids = spec.get("technique_ids") or ([spec["technique_id"]] if spec.get("technique_id") else [])
        ids = [str(i).strip() for i in (ids if isinstance(ids, list) else [ids])]
        bad = [i for i in ids if not TECHNIQUE_ID.fullmatch(i)]
        if not ids or bad:
            rejects.append((str(spec_file), "technique_ids must list ATT&CK ids like T1098.001"
                            + (f" (not: {', '.join(bad)})" if bad else " (none given)"), None))
            continue
        files = sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(_RECORD_SUFFIXES))
        loaded = [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in files]
        records = checked_records(folder, loaded, rejects)
        if not records:
            rejects.append((str(directory), "no CloudTrail record to replay (*.json, *.jsonl, optionally .gz)", None))
            continue
        incidents = [{"description": str(i.get("description") or i.get("link")), "link": str(i["link"])}
                     for i in spec.get("incidents") or [] if isinstance(i, dict) and i.get("link")]
        listing = [(spec_file.relative_to(folder).as_posix(), _sha(spec_bytes))] + [(n, _sha(d)) for n, d in loaded]
        scenarios.append(Scenario(
            key=key, source=source, name=str(spec.get("name") or directory.name),
            description=spec.get("description"), technique_ids=sorted(set(ids)), incidents=incidents,
            provenance={"folder": str(folder), "licence": spec.get("licence"), "upstream": spec.get("source"),
                        "files": [{"path": p, "sha256": s} for p, s in listing]},
            sha256=_digest(listing), records=records))
    return FolderRead(source, str(folder), scenarios, rejects)


def read_folder(folder: str | Path) -> FolderRead:
    """Whichever layout the folder holds (module docstring)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ScenarioFileError(f"{root}: not a folder")
    if (root / "docs" / "detonation-logs").is_dir():
        return read_stratus(root)
    if (root / "events").is_dir():
        return read_traildiscover(root)
    return read_user_folder(root)
