"""EventBridge rules: the EventPattern (a JSON string) -> API, finding, control or config-rule signals."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from dagster_project.lib.parsing.conditions import add_condition
from dagster_project.lib.parsing.event_sources import add_api_calls, wildcard_name
from dagster_project.lib.parsing.model import (
    AMBIGUOUS,
    EXACT,
    PREFIX,
    SERVICE,
    TEXT,
    Builder,
    ParsedLogic,
    Recorder,
)

CLOUDTRAIL_TYPES = {"AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail",
                    "AWS Service Event via CloudTrail"}
FINDING_TYPES = {"GuardDuty Finding": "guardduty", "Security Hub Findings - Imported": "securityhub",
                 "Security Hub Findings - Custom Action": "securityhub",
                 "Config Rules Compliance Change": "config"}
# Content filters that still name positive values (case or prefix) vs. ones that only exclude or hint
_POSITIVE = ("prefix", "wildcard", "equals-ignore-case")


def event_rule(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    targets = [t.get("Arn") for t in (related or {}).get("targets") or [] if isinstance(t, dict) and t.get("Arn")]
    if not targets:
        b.note("rule has no targets")
    if api_object.get("State") and api_object.get("State") != "ENABLED":
        b.note(f"rule state {api_object.get('State')}")
    raw = api_object.get("EventPattern")
    if raw in (None, ""):
        b.doubt("no event pattern (scheduled rule)", 0.0)
        return b.build({"schedule": api_object.get("ScheduleExpression")}, actions=targets)
    # a pattern given as an object (not text) cannot key the cache
    recorded, conditions = _read_pattern(raw) if isinstance(raw, str) else _read_pattern.__wrapped__(raw)
    recorded.replay(b)
    return b.build(conditions, actions=targets)


@functools.lru_cache(maxsize=16_384)
def _read_pattern(raw: str | dict) -> tuple[Recorder, dict[str, Any]]:
    """Cached per pattern text (see Recorder); the conditions returned are shared: never mutate them."""
    recorded = Recorder()
    try:
        pattern = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(pattern, dict):
            raise ValueError("event pattern is not a JSON object")
    except ValueError as e:
        recorded.doubt(f"invalid EventPattern JSON: {e}", 0.0)
        return recorded, {"event_pattern": raw}
    apply_pattern(recorded, pattern)
    return recorded, {"event_pattern": pattern}


def leaves(pattern: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, matcher) for every leaf; `$or` branches are all included (a union of matches)."""
    out: list[tuple[str, Any]] = []
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            for branch in value:
                if isinstance(branch, dict):
                    out.extend(leaves(branch, prefix))
        elif isinstance(value, dict):
            out.extend(leaves(value, f"{prefix}{key}."))
        else:
            for matcher in value if isinstance(value, list) else [value]:
                out.append((f"{prefix}{key}", matcher))
    return out


def matcher_value(matcher: Any) -> tuple[str | None, str]:
    """(value, qualifier) a matcher positively requires; qualifier 'exact'|'prefix'|'other'|'negative'."""
    if isinstance(matcher, str | int | float | bool):
        return str(matcher), "exact"
    if not isinstance(matcher, dict) or not matcher:
        return None, "other"
    kind, arg = next(iter(matcher.items()))
    if kind == "anything-but":
        return None, "negative"
    if kind == "prefix":
        arg = arg.get("equals-ignore-case") if isinstance(arg, dict) else arg
        return (str(arg), "prefix") if arg else (None, "other")
    if kind == "wildcard":
        parsed = wildcard_name(str(arg))
        return parsed if parsed else (str(arg), "other")
    if kind == "equals-ignore-case":
        return str(arg), "exact"
    return None, "other"


def apply_pattern(b: Builder, pattern: dict[str, Any]) -> None:
    by_path: dict[str, list[Any]] = {}
    for path, matcher in leaves(pattern):
        by_path.setdefault(path, []).append(matcher)
    detail_types = [str(m) for m in by_path.pop("detail-type", []) if isinstance(m, str)]
    sources = [str(m) for m in by_path.pop("source", []) if isinstance(m, str)]
    for m in by_path.pop("account", []) + by_path.pop("region", []):
        b.entity("resources", str(m))
    families = {FINDING_TYPES[t] for t in detail_types if t in FINDING_TYPES}
    families |= {s[4:] for s in sources if s in ("aws.guardduty", "aws.securityhub", "aws.config")}
    if families and not set(detail_types) & CLOUDTRAIL_TYPES:
        _findings(b, families, by_path)
    else:
        _api_events(b, sources, by_path)
    _conditions(b, by_path)


def _api_events(b: Builder, sources: list[str], by_path: dict[str, list[Any]]) -> None:
    explicit = _positive(b, "detail.eventSource", by_path.pop("detail.eventSource", []))
    names = _positive(b, "detail.eventName", by_path.pop("detail.eventName", []))
    event_sources = [v for v, q in explicit if q == "exact"] or sources
    if any(q == "prefix" for _, q in names):
        b.doubt("eventName matched by prefix", PREFIX)
    conf = EXACT if event_sources else AMBIGUOUS
    add_api_calls(b, event_sources, [(v, q) for v, q in names], exact_confidence=conf)
    if not event_sources and not names:
        if any(path.startswith("detail.") for path in by_path):
            # AWS's own root-activity rule: any call, made with the root user's credentials
            b.note("pattern names no event, only conditions on every CloudTrail event")
        else:
            b.doubt("pattern names neither a source nor an event", 0.0)


def _positive(b: Builder, path: str, matchers: list[Any]) -> list[tuple[str, str]]:
    out = []
    for m in matchers:
        value, qualifier = matcher_value(m)
        if qualifier == "negative":
            b.doubt(f"{path} uses anything-but: only exclusions known", 0.4)
            add_condition(b, path.removeprefix("detail."), "!=", _plain(m["anything-but"]))
        elif qualifier == "other":
            b.doubt(f"{path} matcher {json.dumps(m)} not understood", TEXT)
        elif value:
            out.append((value, qualifier))
    return out


def _findings(b: Builder, families: set[str], by_path: dict[str, list[Any]]) -> None:
    if "guardduty" in families:
        types = _positive(b, "detail.type", by_path.pop("detail.type", []))
        for value, qualifier in types:
            b.signal("finding_type", value, qualifier, EXACT if qualifier == "exact" else PREFIX)
        if not types:
            b.signal("service", "guardduty.amazonaws.com", confidence=SERVICE)
            b.note("every GuardDuty finding")
    if "securityhub" in families:
        controls = []
        for path in ("detail.findings.Compliance.SecurityControlId", "detail.findings.GeneratorId"):
            for value, _ in _positive(b, path, by_path.pop(path, [])):
                controls.append(value.removeprefix("security-control/"))
        for c in controls:
            b.signal("control", c, confidence=EXACT if re.fullmatch(r"[\w-]+\.\d+", c) else AMBIGUOUS)
        if not controls:
            b.signal("service", "securityhub.amazonaws.com", confidence=SERVICE)
    if "config" in families:
        names = _positive(b, "detail.configRuleName", by_path.pop("detail.configRuleName", []))
        for value, _ in names:
            # rules created from the console keep the managed identifier in kebab case
            b.signal("config_rule", value.upper().replace("-", "_"), confidence=AMBIGUOUS)
        if not names:
            b.signal("service", "config.amazonaws.com", confidence=SERVICE)


def _conditions(b: Builder, by_path: dict[str, list[Any]]) -> None:
    for path, matchers in by_path.items():
        field = path.removeprefix("detail.")
        for m in matchers:
            value, qualifier = matcher_value(m)
            if qualifier == "exact":
                add_condition(b, field, "=", value)
            elif qualifier == "prefix":
                add_condition(b, field, "=", f"{value}*")
            elif qualifier == "negative":
                add_condition(b, field, "!=", _plain(m["anything-but"]))
            elif isinstance(m, dict) and "exists" in m:
                add_condition(b, field, "exists" if m["exists"] else "not exists", None)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

