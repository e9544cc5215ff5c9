"""External knowledge files (CTID Mappings Explorer): read and checked here, derived in SQL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from dagster_project.lib.attack.bundle import BundleError


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
    if not doc["metadata"].get("attack_version"):
        raise BundleError(source, "metadata", "no attack_version: cannot tell which ATT&CK release it maps to")
    return KnowledgeDocument(source=source, source_file=PurePath(source).name,
                             sha256=hashlib.sha256(data).hexdigest(), metadata=doc["metadata"],
                             objects=doc["mapping_objects"])
