"""External knowledge (CTID Mappings Explorer files, the TrailDiscover folder): read and checked here, derived
in SQL. Objects are kept verbatim; provenance (file, sha256, licence) goes into the document's metadata."""

from __future__ import annotations

import hashlib
import json
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
    digest = hashlib.sha256()
    for item in listing:
        digest.update(f"{item['path']}\0{item['sha256']}\n".encode())
    digest.update(hashlib.sha256(licence or b"").hexdigest().encode())
    metadata = {"knowledge_source": TRAILDISCOVER, "licence": TRAILDISCOVER_LICENCE,
                "licence_sha256": hashlib.sha256(licence or b"").hexdigest(),
                "upstream": (upstream or b"").decode("utf-8", "replace").strip() or None,
                "provider": "aws", "event_count": len(objects), "files": listing}
    return KnowledgeDocument(source=source, source_file=PurePath(source).name or source,
                             sha256=digest.hexdigest(), metadata=metadata, objects=objects)


def read_traildiscover(folder: str | Path) -> KnowledgeDocument:
    """The TrailDiscover folder on disk: every events/<Service>/<Event>.json (the .json.cloudtrail example
    records are not read), LICENSE and SOURCE."""
    root = Path(folder).expanduser()
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "events").glob("*/*.json")}
    licence, upstream = root / "LICENSE", root / "SOURCE"
    return parse_traildiscover(str(root), files, licence.read_bytes() if licence.is_file() else None,
                               upstream.read_bytes() if upstream.is_file() else None)


def is_traildiscover(ref: str) -> bool:
    """A local folder with an events/ folder: TrailDiscover's layout."""
    return not ref.startswith(("https://", "http://")) and (Path(ref).expanduser() / "events").is_dir()


def read_source(ref: str, fetch: Callable[[str], bytes]) -> tuple[KnowledgeDocument, str]:
    """One DCV_KNOWLEDGE_SOURCE entry -> (document, knowledge_source): a TrailDiscover folder, else a CTID
    Mappings Explorer file (path or URL, read with `fetch`)."""
    if is_traildiscover(ref):
        return read_traildiscover(ref), TRAILDISCOVER
    return parse_ctid(ref, fetch(ref)), CTID
