"""A collector record split into configuration and runtime state, each hashed canonically.

The configuration hash identifies a detection *version*: the same filter pattern in 1,000 accounts is one
content row, and an alarm changing state is not a new version (its state is hashed separately).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

REQUIRED = ("provider", "service", "detection_type", "native_id", "api_object")


@functools.cache
def volatile_fields() -> dict[str, dict[str, frozenset[str]]]:
    raw = yaml.safe_load((Path(__file__).with_name("volatile_fields.yaml")).read_text())
    return {t: {part: frozenset(v.get(part) or []) for part in ("api_object", "related")} for t, v in raw.items()}


_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
# orjson spells some floats differently from Python (0.00001 for 1e-05, e-9 for e-09): a text holding a
# one-digit negative exponent on a number or a tiny fraction goes to the json module, so no stored hash ever
# changes. "e-<digit>" also occurs in text like "rule-1" (~7 % of records, and nearly every account's snapshot):
# each occurrence is checked for a digit before it and none after, which is cheaper than a regex doing the same.
_MAYBE_EXPONENT = re.compile(rb"e-[0-9]")


def _has_short_exponent(text: bytes) -> bool:
    return any(text[m.start() - 1:m.start()].isdigit() and not text[m.end():m.end() + 1].isdigit()
               for m in _MAYBE_EXPONENT.finditer(text))


def canonical_json(value: Any) -> str:
    """Stable text for hashing: sorted keys, no whitespace, datetimes as str(). Through orjson (a dagster-dbt
    dependency) with its guard, ~2x faster than the json module alone; the output is the json module's, byte
    for byte."""
    try:
        text = orjson.dumps(value, option=_ORJSON, default=str)
    except TypeError:  # integers beyond 64 bits, non-string keys: the json module handles them
        text = None
    if text is None or b"0.0000" in text or _has_short_exponent(text):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return text.decode()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def split_fingerprint() -> bytes:
    """What turns a record into configuration and state (this module and its volatile fields): a change to
    either makes every record digest new, so no record is taken as unchanged under a split it was not made by."""
    here = Path(__file__)
    return hashlib.sha256(here.read_bytes() + here.with_name("volatile_fields.yaml").read_bytes()).digest()


def plain_json(value: Any) -> bytes:
    """JSON in the value's own key order (a record as read: its snapshot text and its digest), ~7x cheaper than
    canonical_json; the json module where orjson cannot (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_DATETIME, default=str)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def record_digest(text: bytes) -> bytes:
    """16 bytes that change whenever a record's plain_json changes: a record whose digest equals its stored
    version's is that version, without being split and hashed canonically (~3x the work). The same text read
    twice gives the same digest; the same record in another key order is merely split again."""
    return hashlib.blake2b(text, digest_size=16, key=split_fingerprint()[:32]).digest()


@dataclass(frozen=True)
class Split:
    config: dict
    config_json: str
    config_hash: str
    state: dict | None
    state_json: str | None
    state_hash: str | None


def split(record: dict) -> Split:
    """Separate the configuration (what someone set up) from runtime state (what AWS reports now)."""
    fields = volatile_fields().get(record["detection_type"], {"api_object": frozenset(), "related": frozenset()})
    api_object = record.get("api_object") or {}
    related = record.get("related") or {}
    config = {
        "api_object": {k: v for k, v in api_object.items() if k not in fields["api_object"]},
        "related": {k: v for k, v in related.items() if k not in fields["related"]},
    }
    state = {
        **{k: api_object[k] for k in fields["api_object"] if k in api_object},
        **{k: related[k] for k in fields["related"] if k in related},
    }
    config_json = canonical_json(config)
    state_json = canonical_json(state) if state else None
    return Split(config, config_json, sha256(config_json), state or None, state_json,
                 sha256(state_json) if state_json else None)


def problem(record: Any) -> str | None:
    """Why a record cannot be stored, or None. Checked before anything is written."""
    if not isinstance(record, dict):
        return f"expected a detection record (dict), got {type(record).__name__}"
    missing = [k for k in REQUIRED if not record.get(k)]
    if missing:
        return f"record lacks {', '.join(missing)}"
    if not isinstance(record["api_object"], dict):
        return "api_object must be a JSON object"
    return None
