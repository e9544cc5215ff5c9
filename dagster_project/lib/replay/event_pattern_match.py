"""EventBridge event patterns matched the way EventBridge matches them, on CloudTrail records.

    matcher = compile_event_pattern('{"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}}')
    matcher.matches(eventbridge_envelope(record))       # -> True / False
    matcher.candidate_keys      # -> {("iam.amazonaws.com", "CreateUser"), ("iam", "CreateUser")}

Semantics follow AWS's documentation and its open-source matcher, aws/event-ruler (docs/decisions.md,
"Replay matchers"):
- a pattern is a JSON object; every field it names must match (AND), a field matches when any of the values in
  its array matches (OR); `$or` takes a list of sub-patterns, any of which may match;
- string matching is exact and case-sensitive unless `equals-ignore-case` says otherwise;
- operators apply to leaf values only: a field whose value is an object or an empty array has no leaf value,
  so only `{"exists": false}` matches it;
- an event array matches when any element does, and a sub-pattern must match inside one element of an array
  (two fields never match from different elements: event-ruler's "array consistency").
Compilation validates the pattern and raises PatternError naming the problem; compiled, matching is a walk of
the pattern over the event with no further parsing.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import ipaddress
import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dagster_project.lib.parsing.event_sources import aliases

MISSING: Any = object()  # a field the event does not have
MAX_KEY_BRANCHES = 256  # above this many $or combinations candidate_keys gives up and says "any record"
API_CALL = "AWS API Call via CloudTrail"
# How EventBridge labels CloudTrail records by their eventType; everything else is an API call
DETAIL_TYPES = {"AwsConsoleSignIn": "AWS Console Sign In via CloudTrail",
                "AwsServiceEvent": "AWS Service Event via CloudTrail"}

Key = tuple[str | None, str | None]


class PatternError(ValueError):
    """A pattern AWS would refuse, or that cannot be read; the message says what is wrong."""


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Compiling a pattern allocates many small objects and no reference cycles; on a 10 MB pattern the garbage
    collector's passes over them cost four times the compilation itself (27 s against 5 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------- envelope

@functools.cache
def _source_aliases() -> tuple[dict[str, str], dict[str, set[str]]]:
    """(eventSource -> EventBridge source, EventBridge source -> eventSources) for the irregular services."""
    to_source: dict[str, str] = {}
    to_event_sources: dict[str, set[str]] = {}
    for source, event_source in aliases()["eventbridge_sources"].items():
        to_event_sources.setdefault(source, set()).add(event_source)
        regular = "aws." + event_source.removesuffix(".amazonaws.com")
        # signin.amazonaws.com is delivered as aws.signin (its regular name) although aws.console also names it
        if regular not in aliases()["eventbridge_sources"]:
            to_source[event_source] = source
    return to_source, to_event_sources


def eventbridge_source(event_source: str) -> str:
    """`iam.amazonaws.com` -> `aws.iam`, as EventBridge labels the CloudTrail record of that service."""
    special = _source_aliases()[0].get(event_source)
    return special or "aws." + event_source.removesuffix(".amazonaws.com")


def event_sources_of(source: str) -> set[str]:
    """Every eventSource whose records EventBridge delivers with `source` (the inverse of eventbridge_source)."""
    out = set(_source_aliases()[1].get(source, ()))
    if source.startswith("aws."):
        out |= {source[4:] + ".amazonaws.com", source[4:]}
    return {es for es in out if eventbridge_source(es) == source}


def eventbridge_envelope(record: dict, *, account: str | None = None, region: str | None = None) -> dict:
    """The event EventBridge puts on the default bus for one CloudTrail record."""
    event_source = record.get("eventSource")
    identity = record.get("userIdentity") if isinstance(record.get("userIdentity"), dict) else {}
    return {
        "version": "0",
        "id": record.get("eventID") or "",
        "detail-type": DETAIL_TYPES.get(record.get("eventType"), API_CALL),
        "source": eventbridge_source(event_source) if isinstance(event_source, str) else None,
        "account": account or record.get("recipientAccountId") or identity.get("accountId"),
        "time": record.get("eventTime"),
        "region": region or record.get("awsRegion"),
        "resources": [],
        "detail": record,
    }


def record_keys(event_source: str | None, event_name: str | None) -> tuple[Key, ...]:
    """The candidate keys a record is looked up under: a pattern can match it only if it holds one of these."""
    return ((event_source, event_name), (event_source, None), (None, event_name), (None, None))


# ---------------------------------------------------------------------------------------------- values

def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _leaves(value: Any) -> list[Any]:
    """The leaf values of an event field: a scalar, or the scalars of an array (nested arrays flattened)."""
    if value is MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        out: list[Any] = []
        stack = [iter(value)]
        while stack:  # iterative: an event's arrays may nest deeply
            for item in stack[-1]:
                if isinstance(item, list):
                    stack.append(iter(item))
                    break
                if not isinstance(item, dict):
                    out.append(item)
            else:
                stack.pop()
        return out
    return [value]


def _elements(value: list) -> Iterator[Any]:
    for item in value:
        if isinstance(item, list):
            yield from _elements(item)
        else:
            yield item


# ---------------------------------------------------------------------------------------------- matchers

Test = Callable[[Any], bool]


def _string_arg(op: str, arg: Any) -> str:
    if not isinstance(arg, str):
        raise PatternError(f"{op} must be given a string, not {json.dumps(arg)}")
    return arg


def _affix(op: str, arg: Any) -> Test:
    """prefix / suffix, optionally {"equals-ignore-case": ...}."""
    fold = False
    if isinstance(arg, dict):
        if list(arg) != ["equals-ignore-case"]:
            raise PatternError(f"{op} accepts a string or {{\"equals-ignore-case\": string}}, not {json.dumps(arg)}")
        fold, arg = True, arg["equals-ignore-case"]
    text = _string_arg(op, arg)
    if fold:
        text = text.lower()
        if op == "prefix":
            return lambda v: isinstance(v, str) and v.lower().startswith(text)
        return lambda v: isinstance(v, str) and v.lower().endswith(text)
    if op == "prefix":
        return lambda v: isinstance(v, str) and v.startswith(text)
    return lambda v: isinstance(v, str) and v.endswith(text)


def _ignore_case(arg: Any) -> Test:
    text = _string_arg("equals-ignore-case", arg).lower()
    return lambda v: isinstance(v, str) and v.lower() == text


def wildcard_segments(pattern: str) -> list[str]:
    """The literal text between `*`s; `\\*` and `\\\\` are a literal star and backslash (event-ruler's rules)."""
    segments, current, i = [], [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
            if nxt not in ("*", "\\"):
                raise PatternError(f"wildcard {pattern[:100]!r}: a backslash may only escape '*' or '\\'")
            current.append(nxt)
            i += 2
        elif c == "*":
            if i + 1 < len(pattern) and pattern[i + 1] == "*":
                raise PatternError(f"wildcard {pattern[:100]!r}: consecutive '*' are not allowed")
            segments.append("".join(current))
            current = []
            i += 1
        else:
            j = i
            while j < len(pattern) and pattern[j] not in "\\*":
                j += 1
            current.append(pattern[i:j])
            i = j
    segments.append("".join(current))
    return segments


def glob_matcher(segments: list[str]) -> Callable[[str], bool]:
    """Whether a text is segments[0] + anything + segments[1] + ... + segments[-1].

    Leftmost-first search for each middle segment is exact for `*`-only patterns, and never backtracks: time is
    linear in the text for each segment (a regular expression of many `.*` can take exponential time)."""
    if len(segments) == 1:
        return segments[0].__eq__
    first, middle, last = segments[0], segments[1:-1], segments[-1]
    least = sum(map(len, segments))

    def match(text: str) -> bool:
        if len(text) < least or not text.startswith(first) or not text.endswith(last):
            return False
        pos, end = len(first), len(text) - len(last)
        for segment in middle:
            found = text.find(segment, pos, end)
            if found < 0:
                return False
            pos = found + len(segment)
        return True
    return match


def _wildcard(arg: Any) -> Test:
    match = glob_matcher(wildcard_segments(_string_arg("wildcard", arg)))
    return lambda v: isinstance(v, str) and match(v)


def _one_or_many(op: str, arg: Any, build: Callable[[Any], Test]) -> Test:
    """`anything-but`'s object forms take one value or a list of them."""
    if isinstance(arg, list):
        if not arg:
            raise PatternError(f"anything-but {op} list is empty")
        tests = [build(a) for a in arg]
        return lambda v: any(t(v) for t in tests)
    return build(arg)


def _anything_but(arg: Any) -> Test:
    """Matches any leaf value the inner matcher does not (numbers, booleans and null included)."""
    if isinstance(arg, dict):
        if len(arg) != 1:
            raise PatternError(f"anything-but object must have one key, not {json.dumps(arg)}")
        op, inner_arg = next(iter(arg.items()))
        builders: dict[str, Callable[[Any], Test]] = {
            "prefix": functools.partial(_affix, "prefix"), "suffix": functools.partial(_affix, "suffix"),
            "equals-ignore-case": _ignore_case, "wildcard": _wildcard}
        if op not in builders:
            raise PatternError(f"anything-but does not accept {op!r} (prefix, suffix, equals-ignore-case, wildcard)")
        if op in ("prefix", "suffix") and inner_arg in ("", []):
            raise PatternError(f"anything-but {op} must not be empty")
        inner = _one_or_many(op, inner_arg, builders[op])
        return lambda v: not inner(v)
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise PatternError("anything-but list is empty")
    if not (all(isinstance(v, str) for v in values) or all(_is_number(v) for v in values)):
        raise PatternError(f"anything-but takes strings or numbers, not both or others: {json.dumps(arg)}")
    excluded = _Values()
    for v in values:
        if _is_number(v):
            _pattern_number("anything-but", v)
        excluded.add(v)
    return lambda v: v not in excluded


# event-ruler compares numbers as fixed-point decimals: |n| <= 5e9, six decimals; others are not comparable
NUMERIC_LIMIT = 5e9


def _comparable(n: float) -> bool:
    return -NUMERIC_LIMIT <= n <= NUMERIC_LIMIT


def _pattern_number(where: str, number: Any) -> float:
    if not _is_number(number) or not math.isfinite(number):
        raise PatternError(f"{where} needs a number, not {json.dumps(number)}")
    if not _comparable(number) or round(number, 6) != number:
        raise PatternError(f"{where}: {number} is outside -5e9..5e9 or has more than six decimals")
    return float(number)


_NUMERIC_OPS = {"=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _numeric(arg: Any) -> Test:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise PatternError(f"numeric takes [op, number] or [op, number, op, number], not {json.dumps(arg)}")
    checks = []
    for op, number in zip(arg[::2], arg[1::2], strict=True):
        if op not in _NUMERIC_OPS:
            raise PatternError(f"numeric operator {json.dumps(op)} is not one of = < <= > >=")
        checks.append((_NUMERIC_OPS[op], _pattern_number(f"numeric {op}", number)))
    if len(checks) == 2 and (arg[0] not in (">", ">=") or arg[2] not in ("<", "<=")):
        raise PatternError(f"numeric range must be a lower bound then an upper bound: {json.dumps(arg)}")
    return lambda v: _is_number(v) and _comparable(v) and all(check(float(v), n) for check, n in checks)


def _cidr(arg: Any) -> Test:
    text = _string_arg("cidr", arg)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as e:
        raise PatternError(f"cidr {text!r} is not an IP network: {e}") from None

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False
    return test


_OPERATORS: dict[str, Callable[[Any], Test]] = {
    "prefix": functools.partial(_affix, "prefix"), "suffix": functools.partial(_affix, "suffix"),
    "equals-ignore-case": _ignore_case, "wildcard": _wildcard, "anything-but": _anything_but,
    "numeric": _numeric, "cidr": _cidr,
}


@dataclass
class _Values:
    """A set of exact values: strings, numbers (by value) and the literals true, false, null."""
    strings: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    literals: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> None:
        if isinstance(value, str):
            self.strings.add(value)
        elif _is_number(value):
            self.numbers.add(float(value))
        else:
            self.literals.append(value)

    def __contains__(self, v: Any) -> bool:
        if isinstance(v, str):
            return v in self.strings
        if _is_number(v):
            return float(v) in self.numbers
        return any(v is literal for literal in self.literals)


@dataclass
class _Field:
    """The matchers of one leaf field: it matches when any of them matches any of its leaf values."""
    exact: _Values = field(default_factory=_Values)
    tests: list[Test] = field(default_factory=list)
    exists: set[bool] = field(default_factory=set)
    only_strings: bool = True  # every matcher is an exact string (what candidate keys can use)

    def matches(self, value: Any) -> bool:
        values = _leaves(value)
        if not values:
            return False in self.exists
        if True in self.exists:
            return True
        return any(v in self.exact or any(test(v) for test in self.tests) for v in values)


@dataclass
class _Object:
    fields: list[tuple[str, _Object | _Field]] = field(default_factory=list)
    ors: list[list[_Object]] = field(default_factory=list)

    def matches(self, value: Any) -> bool:
        if isinstance(value, list):
            elements = list(_elements(value))
            return any(self.matches(e) for e in elements) if elements else self.matches(MISSING)
        obj = value if isinstance(value, dict) else {}
        for key, child in self.fields:
            if not child.matches(obj.get(key, MISSING)):
                return False
        return all(any(branch.matches(value) for branch in branches) for branches in self.ors)


def _compile_field(path: str, matchers: list[Any]) -> _Field:
    if not matchers:
        raise PatternError(f"{path}: empty arrays are not allowed")
    out = _Field()
    for m in matchers:
        if isinstance(m, dict):
            if len(m) != 1:
                raise PatternError(f"{path}: a matcher object has exactly one key, not {json.dumps(m)}")
            op, arg = next(iter(m.items()))
            out.only_strings = False
            if op == "exists":
                if not isinstance(arg, bool):
                    raise PatternError(f"{path}: exists takes true or false, not {json.dumps(arg)}")
                out.exists.add(arg)
            elif op in _OPERATORS:
                try:
                    out.tests.append(_OPERATORS[op](arg))
                except PatternError as e:
                    raise PatternError(f"{path}: {e}") from None
            else:
                raise PatternError(f"{path}: unrecognized match type {op!r}")
        elif isinstance(m, list):
            raise PatternError(f"{path}: arrays inside a field's array are not allowed")
        else:
            out.only_strings = out.only_strings and isinstance(m, str)
            out.exact.add(m)
    return out


def _compile_object(pattern: dict[str, Any], path: str) -> _Object:
    node = _Object()
    for key, value in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(b, dict) for b in value):
                raise PatternError(f"{where}: $or takes a list of at least two objects")
            node.ors.append([_compile_object(b, path) for b in value])
        elif isinstance(value, dict):
            if not value:
                raise PatternError(f"{where}: empty objects are not allowed")
            node.fields.append((key, _compile_object(value, where)))
        elif isinstance(value, list):
            node.fields.append((key, _compile_field(where, value)))
        else:
            raise PatternError(f"{where}: must be an object or an array, not {json.dumps(value)}")
    return node


# ---------------------------------------------------------------------------------------------- keys

Branch = dict[str, frozenset[str] | None]  # field -> allowed exact values; absent: unconstrained
_KEY_FIELDS = {("source",): "source", ("detail", "eventSource"): "eventSource", ("detail", "eventName"): "eventName"}


def _and(left: list[Branch], right: list[Branch]) -> list[Branch]:
    out = []
    for a, b in itertools.product(left, right):
        merged = dict(a)
        for k, v in b.items():
            merged[k] = v if k not in merged else merged[k] & v  # type: ignore[operator]
        out.append(merged)
        if len(out) > MAX_KEY_BRANCHES:
            return [{}]
    return out


def _branches(node: _Object, path: tuple[str, ...]) -> list[Branch]:
    """The pattern as OR-of-ANDs over source / eventSource / eventName exact values (an over-approximation)."""
    result: list[Branch] = [{}]
    for key, child in node.fields:
        sub = (*path, key)
        if isinstance(child, _Field):
            name = _KEY_FIELDS.get(sub)
            if name and child.only_strings:
                result = _and(result, [{name: frozenset(child.exact.strings)}])
        elif any(k[:len(sub)] == sub for k in _KEY_FIELDS):
            result = _and(result, _branches(child, sub))
    for alternatives in node.ors:
        union = [b for alt in alternatives for b in _branches(alt, path)]
        result = _and(result, union if len(union) <= MAX_KEY_BRANCHES else [{}])
    return result


def _keys(branches: list[Branch]) -> frozenset[Key]:
    keys: set[Key] = set()
    for b in branches:
        sources: set[str] | None = None
        if b.get("source") is not None:
            sources = set().union(*(event_sources_of(s) for s in b["source"])) if b["source"] else set()
        if b.get("eventSource") is not None:
            sources = set(b["eventSource"]) if sources is None else sources & b["eventSource"]
        names = b.get("eventName")
        for s in (None,) if sources is None else sources:
            for n in (None,) if names is None else names:
                keys.add((s, n))
    return frozenset(keys)


# ---------------------------------------------------------------------------------------------- API

class EventPatternMatcher:
    """A compiled event pattern; `matches` takes the EventBridge event (see eventbridge_envelope)."""

    def __init__(self, pattern: dict[str, Any]):
        self.pattern = pattern
        self._root = _compile_object(pattern, "")
        self.candidate_keys: frozenset[Key] = _keys(_branches(self._root, ()))

    def matches(self, event: dict) -> bool:
        return self._root.matches(event)

    def __repr__(self) -> str:
        return f"EventPatternMatcher({json.dumps(self.pattern)[:200]})"


def compile_event_pattern(pattern: str | dict) -> EventPatternMatcher:
    """Validate and compile; PatternError names what is wrong (invalid JSON, unknown operator, bad argument)."""
    with collector_paused():
        try:
            parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
        except ValueError as e:
            raise PatternError(f"event pattern is not valid JSON: {e}") from None
        except RecursionError:
            raise PatternError("event pattern nests too deeply") from None
        if not isinstance(parsed, dict):
            raise PatternError("event pattern must be a JSON object")
        if not parsed:
            raise PatternError("event pattern is empty")
        try:
            return EventPatternMatcher(parsed)
        except RecursionError:
            raise PatternError("event pattern nests too deeply") from None
