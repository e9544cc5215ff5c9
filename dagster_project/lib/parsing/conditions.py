"""`condition` signals: the non-API constraints that tell root usage from any login, failures from success."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from dagster_project.lib.parsing.model import Builder, Signal

CONDITION = 0.6
# Fields that name the log source, not a condition on the event
SKIP_FIELDS = {"event.dataset", "data_stream.dataset", "event.module"}
MAX_VALUE = 120  # long literals (policy JSON fragments) say nothing a mapper can join on


def condition_text(field: str, cmp: str, value: str | None) -> str:
    if cmp in ("not exists", "exists", "is null", "is not null"):
        return f"{field} {cmp.upper()}"
    if cmp == "is":
        return f"{field} IS {str(value).upper()}"
    if cmp in ("==", ":"):
        cmp = "="
    return f"{field}{cmp}{value}"


def add_condition(b: Builder, field: str, cmp: str, value: str | None) -> None:
    if field in SKIP_FIELDS or (value is not None and len(str(value)) > MAX_VALUE):
        return
    b.signal("condition", condition_text(field, cmp, value), confidence=CONDITION)


_CONDITION = re.compile(r"(?P<field>[^\s=!<>]+)(?:(?P<cmp>!=|<=|>=|=|<|>)(?P<value>.*)"
                        r"| (?P<test>NOT EXISTS|EXISTS|IS NULL|IS NOT NULL)| (?P<word>\w+) (?P<text>.*))", re.S)


def split_condition(text: str) -> tuple[str, str, str | None] | None:
    """condition_text's inverse: 'userIdentity.type=Root' -> ('userIdentity.type', '=', 'Root')."""
    m = _CONDITION.fullmatch(text)
    if m is None:
        return None
    if m["cmp"]:
        return m["field"], m["cmp"], m["value"]
    if m["test"]:
        return m["field"], m["test"].lower(), None
    if m["word"] == "exists":  # Sigma's |exists modifier: 'errorCode exists false'
        return m["field"], "exists" if m["text"].lower() == "true" else "not exists", None
    return m["field"], m["word"], m["text"]


def outcome(conditions: Iterable[str]) -> str | None:
    """'failure' when a configuration fires only on calls that failed, 'success' when only on calls that
    succeeded, None when it sees both (or says nothing). A CloudTrail record of a failed call carries errorCode
    (errorMessage, a console sign-in's responseElements Failure); Sigma writes success as errorCode 'Success'
    or null, ECS as event.outcome. A failed sign-in is password guessing, a successful one is an account in use:
    indicators that hold for one outcome only say so (docs/mapping.md)."""
    seen = set()
    for text in conditions:
        parts = split_condition(text)
        if parts is None:
            continue
        field, cmp, value = parts
        if field == "errorCode":
            if cmp in ("not exists", "is null") or (cmp == "=" and value == "Success"):
                seen.add("success")
            elif cmp in ("exists", "is not null") or (cmp not in ("!=", "<", ">", "<=", ">=") and value):
                seen.add("failure")
        elif field == "errorMessage" and cmp not in ("!=", "not exists", "is null"):
            seen.add("failure")
        elif field in ("event.outcome", "responseElements.ConsoleLogin") and cmp == "=" and value and (
                value.lower() in ("success", "failure")):
            seen.add(value.lower())
    return seen.pop() if len(seen) == 1 else None


def mark_alternatives(signals: Iterable[Signal]) -> list[Signal]:
    """Equality conditions on one field with different values are alternatives (a record's field holds one
    value, so together they can only be OR-ed: `user_identity.type: ("IAMUser" or "Root")`). Each gets the
    qualifier `one_of`, so an indicator on one value (root usage) is not claimed at full strength by a
    configuration that accepts any of several."""
    signals = list(signals)
    tests = {s: split_condition(s.value) for s in signals if s.signal_type == "condition" and s.qualifier == "exact"}
    field_of = {s: parts[0] for s, parts in tests.items() if parts and parts[1] == "="}
    values = defaultdict(set)
    for s, field in field_of.items():
        values[field].add(s.value)
    several = {field for field, found in values.items() if len(found) > 1}
    return sorted(Signal(s.signal_type, s.value, "one_of") if field_of.get(s) in several else s for s in signals)
