"""Detection-as-code repositories as detection records: Sigma (YAML) and Elastic (TOML) rules.

Each rule file becomes one record shaped like a collector's (provider "aws", account_id "" and region ""),
with the whole parsed document as api_object. A file that does not parse, or lacks what identifies a rule,
is returned as a Reject naming the file; the other files still load.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from dagster_project.lib.sources.accounts import Reject

SIGMA_REQUIRED = ("id", "title", "detection")
# attack.t1078 / attack.t1078.004; tactic tags (attack.persistence), groups (attack.g0016) and software are
# not techniques
SIGMA_TECHNIQUE = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)


def json_safe(value: Any) -> Any:
    """YAML and TOML parse dates into date/datetime objects; api_object must be plain JSON."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def _payload(path: Path) -> str:
    return path.read_bytes()[:2000].decode("utf-8", "replace")


def _record(service: str, detection_type: str, native_id: str, name: str, document: dict, rel: str) -> dict:
    return {"provider": "aws", "service": service, "detection_type": detection_type, "native_id": native_id,
            "name": name, "region": "", "account_id": "", "api_object": document, "related": {"path": rel}}


def _sigma_file(path: Path, root: Path) -> dict | Reject | None:
    ref = str(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return Reject(ref, f"not valid YAML: {exc}".replace("\n", " "), _payload(path))
    if not isinstance(document, dict):
        return Reject(ref, "expected a YAML mapping (a Sigma rule)", _payload(path))
    logsource = document.get("logsource")
    if isinstance(logsource, dict) and logsource.get("product") not in (None, "aws"):
        return None  # another cloud's rule: not this product's concern
    missing = [k for k in SIGMA_REQUIRED if not document.get(k)]
    if missing:
        return Reject(ref, f"Sigma rule lacks {', '.join(missing)}", _payload(path))
    if not isinstance(logsource, dict) or logsource.get("product") != "aws":
        return Reject(ref, "Sigma rule lacks logsource.product", _payload(path))
    return _record("sigma", "sigma_rule", str(document["id"]), str(document["title"]), json_safe(document),
                   path.relative_to(root).as_posix())


def read_sigma(root: Path) -> Iterator[dict | Reject]:
    """Every AWS Sigma rule (logsource.product == aws) under root; rules for other products are skipped."""
    root = Path(root)
    for path in sorted(root.rglob("*.yml")):
        item = _sigma_file(path, root)
        if item is not None:
            yield item


def _elastic_file(path: Path, root: Path) -> dict | Reject:
    ref = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Reject(ref, f"not valid TOML: {exc}", _payload(path))
    rule = document.get("rule")
    if not isinstance(rule, dict):
        return Reject(ref, "Elastic rule lacks a [rule] table", _payload(path))
    missing = [k for k in ("rule_id", "name") if not rule.get(k)]
    if missing:
        return Reject(ref, f"Elastic rule lacks rule.{', rule.'.join(missing)}", _payload(path))
    return _record("elastic", "elastic_rule", str(rule["rule_id"]), str(rule["name"]), json_safe(document),
                   path.relative_to(root).as_posix())


def read_elastic(root: Path) -> Iterator[dict | Reject]:
    """Every Elastic detection rule (*.toml) under root."""
    root = Path(root)
    for path in sorted(root.rglob("*.toml")):
        yield _elastic_file(path, root)


def _sigma_tags(document: dict) -> list[tuple[str, str]]:
    found = []
    for tag in document.get("tags") or []:
        match = SIGMA_TECHNIQUE.match(str(tag))
        if match:
            found.append((match.group(1).upper(), str(tag)))
    return found


def _elastic_tags(document: dict) -> list[tuple[str, str]]:
    found = []
    rule = document.get("rule") or {}
    for threat in rule.get("threat") or []:
        if not isinstance(threat, dict) or threat.get("framework", "MITRE ATT&CK") != "MITRE ATT&CK":
            continue
        for technique in threat.get("technique") or []:
            if technique.get("id"):
                found.append((str(technique["id"]).upper(), "threat.technique"))
            for sub in technique.get("subtechnique") or []:
                if sub.get("id"):
                    found.append((str(sub["id"]).upper(), "threat.subtechnique"))
    return found


def declared_tags(record: dict) -> list[tuple[str, str]]:
    """The ATT&CK techniques a Sigma or Elastic rule declares about itself: [(technique id, source tag)]."""
    document = record.get("api_object") if isinstance(record, dict) else None
    if not isinstance(document, dict):
        return []
    kind = record.get("detection_type")
    tags = _sigma_tags(document) if kind == "sigma_rule" else _elastic_tags(document) if kind == "elastic_rule" else []
    return list(dict.fromkeys(tags))
