"""Sigma rules (logsource aws/cloudtrail): the selections the condition uses positively -> signals.

The rule's title, description and tags carry the ATT&CK labels being evaluated; they are dropped before
parsing so the parse can never lean on them (a test proves output is identical with and without them).
"""

from __future__ import annotations

import re
from typing import Any

from dagster_project.lib.parsing.conditions import add_condition
from dagster_project.lib.parsing.event_sources import add_api_calls
from dagster_project.lib.parsing.model import PREFIX, TEXT, Builder, ParsedLogic

HIDDEN_KEYS = ("tags", "title", "description", "references", "falsepositives", "author", "name")
_COND_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def strip_labels(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k not in HIDDEN_KEYS}


def sigma_rule(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    rule = strip_labels(api_object)
    b = Builder()
    logsource = rule.get("logsource") or {}
    for key in ("product", "service"):
        if logsource.get(key):
            b.entity("logsource", f"{key}:{logsource[key]}")
    if str(logsource.get("service") or "").lower() != "cloudtrail":
        b.doubt(f"logsource {logsource} is not AWS CloudTrail", 0.5)
    detection = rule.get("detection")
    if not isinstance(detection, dict):
        b.doubt("no detection section", 0.0)
        return b.build({}, severity=rule.get("level"))
    conditions = detection.get("condition")
    conditions = conditions if isinstance(conditions, list) else [conditions]
    selections = {k: v for k, v in detection.items() if k != "condition"}
    positive: list[str] = []
    for cond in conditions:
        if not isinstance(cond, str):
            b.doubt("condition missing", 0.0)
            continue
        if "|" in cond:
            b.doubt("aggregation in condition (deprecated syntax)", PREFIX)
        positive.extend(n for n in positive_selections(cond.split("|")[0], selections) if n not in positive)
    units = [unit for name in positive for unit in _selection(b, selections[name])]
    _api_signals(b, units)
    return b.build({"condition": conditions, "detection": selections, "positive_selections": positive},
                   severity=rule.get("level"))


def positive_selections(condition: str, selections: dict[str, Any]) -> list[str]:
    """Names of selections referenced outside any `not` (filters/exclusions must not become signals)."""
    tokens = _COND_TOKEN.findall(condition)
    groups, pending_not, found = [False], False, []
    i = 0
    while i < len(tokens):
        tok, low = tokens[i], tokens[i].lower()
        if low == "not":
            pending_not = not pending_not
        elif tok == "(":
            groups.append(groups[-1] ^ pending_not)
            pending_not = False
        elif tok == ")":
            if len(groups) > 1:
                groups.pop()
        elif low in ("and", "or"):
            pass
        else:
            if low in ("1", "all", "any") and i + 2 < len(tokens) and tokens[i + 1].lower() == "of":
                tok, i = tokens[i + 2], i + 2
            negated = groups[-1] ^ pending_not
            pending_not = False
            if not negated:
                for name in _matching(tok, selections):
                    if name not in found:
                        found.append(name)
        i += 1
    return found


def _matching(ref: str, selections: dict[str, Any]) -> list[str]:
    if ref.lower() == "them":
        return [n for n in selections if not n.startswith("_")]
    pattern = re.compile(re.escape(ref).replace(r"\*", ".*") + "$")
    return [n for n in selections if pattern.match(n)]


Unit = tuple[list[str], list[tuple[str, str]]]  # (event sources, event names) of one field map


def _selection(b: Builder, body: Any) -> list[Unit]:
    """A selection is a map (all fields must match) or a list of maps / keywords (any may match)."""
    if isinstance(body, list):
        units = []
        for item in body:
            if isinstance(item, dict):
                units.extend(_selection(b, item))
            else:
                b.signal("log_pattern", str(item), confidence=TEXT)
                b.doubt("keyword search", TEXT)
        return units
    if not isinstance(body, dict):
        return []
    sources: list[str] = []
    names: list[tuple[str, str]] = []
    for key, values in body.items():
        field, *mods = str(key).split("|")
        values = values if isinstance(values, list) else [values]
        _field(b, field, [m.lower() for m in mods if m.lower() != "all"], values, sources, names)
    return [(sources, names)]


def _api_signals(b: Builder, units: list[Unit]) -> None:
    """A map naming both source and names pairs them itself (iam+Delete*, sts+GetSessionToken never cross);
    maps naming only one side pair with each other (`selection_source and 1 of selection_action_*`)."""
    loose_sources: list[str] = []
    loose_names: list[tuple[str, str]] = []
    for sources, names in units:
        if sources and names:
            add_api_calls(b, sources, names)
        else:
            loose_sources += sources
            loose_names += names
    if loose_names or not any(s and n for s, n in units):
        add_api_calls(b, loose_sources, loose_names)
    else:
        for source in loose_sources:
            b.entity("event_sources", source)


def _field(b: Builder, field: str, mods: list[str], values: list[Any], sources: list[str],
           names: list[tuple[str, str]]) -> None:
    modifier = mods[0] if mods else ""
    if field in ("eventSource", "eventName"):
        for v in values:
            text = "" if v is None else str(v)
            if modifier == "" and field == "eventSource":
                sources.append(text)
            elif modifier == "":
                names.append((text, "exact"))
            elif modifier == "startswith" and field == "eventName":
                b.doubt(f"eventName|startswith {text!r}", PREFIX)
                names.append((text, "prefix"))
            else:
                b.doubt(f"{field}|{modifier} {text!r}: no exact API", TEXT)
                add_condition(b, field, f" {modifier} ", text)
        return
    if modifier in ("re", "cidr", "contains", "endswith", "startswith", "exists"):
        if modifier == "re":
            b.doubt(f"regular expression on {field}", 0.8)
        for v in values:
            add_condition(b, field, f" {modifier} ", "" if v is None else str(v))
        return
    for v in values:
        if v is None:
            add_condition(b, field, "is null", None)
        else:
            add_condition(b, field, "=", str(v))
