"""CloudWatch Logs filter patterns (metric and subscription filters) matched on CloudTrail records.

    matcher = compile_filter_pattern('{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }')
    matcher.matches(record)            # the record's JSON, as CloudTrail delivers it to CloudWatch Logs
    matcher.candidate_keys             # -> {(None, "ConsoleLogin")}

Three syntaxes, as the CloudWatch Logs guide documents them (docs/decisions.md "Replay matchers"):
- empty: matches every log event;
- JSON, `{ SELECTOR OP VALUE && ( ... || ... ) }`: evaluated on the record (parsed by parsing/filter_pattern.py,
  which the mapping engine shares);
- terms: `ERROR "exact phrase" -excluded ?either ?or %regex%`, matched case-sensitively on the raw text of the
  log event;
- space-delimited (`[ip, user, status_code = 4*, ...]`): fields of the raw text split on spaces.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagster_project.lib.parsing import filter_pattern
from dagster_project.lib.replay.event_pattern_match import MISSING, Key, PatternError, collector_paused

__all__ = ["FilterPatternMatcher", "PatternError", "compile_filter_pattern", "log_line"]

MAX_KEY_BRANCHES = 256
Test = Callable[[dict, str], bool]


def log_line(record: dict) -> str:
    """The log event text CloudTrail writes to CloudWatch Logs for a record: its compact JSON."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- JSON values

_STEP = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


@functools.lru_cache(maxsize=4096)
def _selector(field: str) -> tuple[str | int, ...]:
    """`a[0].b` -> ["a", 0, "b"] (the parser drops the leading `$.`)."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(field):
        m = _STEP.match(field, pos)
        if not m:
            raise PatternError(f"selector $.{field} cannot be read at {field[pos:pos + 10]!r}")
        steps.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
        pos = m.end()
    return tuple(steps)


def _resolve(record: Any, steps: tuple[str | int, ...]) -> Any:
    node = record
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return MISSING
        elif not isinstance(node, dict) or step not in node:
            return MISSING
        node = node[step]
    return node


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _text(node: Any) -> str | None:
    """A value node's text; None when the selector points at no string, number or boolean."""
    if isinstance(node, str):
        return node
    if isinstance(node, bool):
        return "true" if node else "false"
    if _is_number(node):
        return json.dumps(node)
    return None  # missing, null, an object or an array: "the filter will not be applied"


def _wildcard(value: str) -> Callable[[str], bool]:
    """`*` at the start and/or end of a value matches any text there; elsewhere it is a literal star."""
    if value.strip("*") == "":
        return lambda text: True
    lead, trail = value.startswith("*"), value.endswith("*")
    core = value[1 if lead else None:-1 if trail else None]
    if lead and trail:
        return lambda text: core in text
    if lead:
        return lambda text: text.endswith(core)
    if trail:
        return lambda text: text.startswith(core)
    return lambda text: text == core


_NUMERIC = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


# What CloudWatch Logs accepts in a %regex%: ASCII letters and digits, these symbols and operators; no groups
_REGEX_CHARS = re.compile(r"[A-Za-z0-9:_#=@/;,\-^$?\[\]{}|\\*+.]*")


def _regex(value: str) -> re.Pattern[str]:
    bad = _REGEX_CHARS.match(value)
    if bad is None or bad.end() != len(value):
        at = value[bad.end() if bad else 0]
        raise PatternError(f"regular expression %{value[:100]}%: CloudWatch Logs does not accept {at!r} in one")
    try:
        return re.compile(value)
    except re.error as e:
        raise PatternError(f"regular expression %{value}% is not valid: {e}") from None


def _comparison(leaf: dict[str, Any]) -> Test:
    steps = _selector(leaf["field"])
    cmp, value, kind = leaf["cmp"], leaf["value"], leaf["kind"]
    where = f"$.{leaf['field']}"
    if kind == "exists":
        return lambda record, raw: _resolve(record, steps) is MISSING
    if kind == "null":
        return lambda record, raw: _resolve(record, steps) is None
    if kind == "bool":
        want = value == "true"
        return lambda record, raw: _resolve(record, steps) is want
    if cmp not in ("=", "!="):
        if kind != "number":
            raise PatternError(f"{where} {cmp} needs a number, not {value!r}")
        number, op = float(value), _NUMERIC[cmp]
        return lambda record, raw: _is_number(node := _resolve(record, steps)) and op(float(node), number)
    negate = cmp == "!="
    if kind == "number":
        number, literal = float(value), value

        def test_number(record: dict, raw: str) -> bool:
            node = _resolve(record, steps)
            if _is_number(node):
                return (float(node) == number) != negate
            text = _text(node)
            return text is not None and (text == literal) != negate
        return test_number
    if kind == "regex":
        regex = _regex(value)
        check: Callable[[str], bool] = lambda text: regex.search(text) is not None  # noqa: E731
    elif kind == "wildcard":
        check = _wildcard(value)
    else:
        check = value.__eq__

    def test(record: dict, raw: str) -> bool:
        text = _text(_resolve(record, steps))
        return text is not None and check(text) != negate
    return test


def _compile_tree(tree: dict[str, Any]) -> Test:
    if "op" not in tree:
        return _comparison(tree)
    parts = [_compile_tree(arg) for arg in tree["args"]]
    if tree["op"] == "and":
        return lambda record, raw: all(p(record, raw) for p in parts)
    return lambda record, raw: any(p(record, raw) for p in parts)


# ---------------------------------------------------------------------------------------------- terms

_TERM = re.compile(r"""\s*(?P<mod>[?-]?)\s*(?:
      "(?P<quoted>[^"\\]*(?:\\.[^"\\]*)*)"
    | %(?P<regex>[^%\\]*(?:\\.[^%\\]*)*)%
    | (?P<word>[^\s"]+)
    )""", re.VERBOSE)


def _terms(pattern: str) -> Test:
    """All plain terms, none of the `-` terms, and (when there are any) at least one of the `?` terms."""
    required: list[Callable[[str], bool]] = []
    excluded: list[Callable[[str], bool]] = []
    optional: list[Callable[[str], bool]] = []
    pos, text = 0, pattern.strip()
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos:
            raise PatternError(f"filter pattern cannot be read at {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group("regex") is not None:
            regex = _regex(m.group("regex"))
            test: Callable[[str], bool] = lambda raw, r=regex: r.search(raw) is not None  # noqa: E731
        else:
            term = m.group("word") if m.group("quoted") is None else re.sub(r"\\(.)", r"\1", m.group("quoted"))
            test = lambda raw, t=term: t in raw  # noqa: E731
        {"": required, "-": excluded, "?": optional}[m.group("mod")].append(test)
    return lambda record, raw: (all(t(raw) for t in required) and not any(t(raw) for t in excluded)
                                and (not optional or any(t(raw) for t in optional)))


# ---------------------------------------------------------------------------------------------- space-delimited

_FIELD_TEXT = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')
_CONDITION = re.compile(r"\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$", re.DOTALL)


def _space_fields(raw: str) -> list[str]:
    """The log event split as CloudWatch splits it: on spaces, "quoted" and [bracketed] text one field each."""
    return [next(g for g in m.groups() if g is not None) for m in _FIELD_TEXT.finditer(raw)]


def _space_condition(name: str, spec: str) -> Callable[[str], bool]:
    alternatives = []
    for alt in spec.split("||"):
        checks = []
        for part in alt.split("&&"):
            m = re.match(r"\s*([\w$.-]*)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$", part)
            if not m or (m.group(1) and m.group(1) != name):
                raise PatternError(f"space-delimited field {name}: cannot read condition {part.strip()!r}")
            op, value = m.group(2), m.group(3).strip('"')
            if op in ("=", "!=") and len(value) > 1 and value[0] == value[-1] == "%":
                regex = _regex(value[1:-1])
                checks.append(lambda t, r=regex, neg=op == "!=": (r.search(t) is not None) != neg)
            elif op in ("=", "!=") and not filter_pattern.NUMBER.fullmatch(value):
                match = _wildcard(value)
                checks.append(lambda t, match=match, neg=op == "!=": match(t) != neg)
            else:
                if not filter_pattern.NUMBER.fullmatch(value):
                    raise PatternError(f"space-delimited field {name}: {op} needs a number, not {value!r}")
                number, cmp = float(value), _NUMERIC[op]
                checks.append(lambda t, n=number, c=cmp: _float(t) is not None and c(_float(t), n))
        alternatives.append(checks)
    return lambda text: any(all(c(text) for c in checks) for checks in alternatives)


def _float(text: str) -> float | None:
    return float(text) if filter_pattern.NUMBER.fullmatch(text) else None


def _space_delimited(pattern: str) -> Test:
    body = pattern.strip()
    if not body.endswith("]"):
        raise PatternError("space-delimited pattern must end with ']'")
    specs = [s.strip() for s in body[1:-1].split(",")]
    fields: list[tuple[bool, Callable[[str], bool] | None]] = []  # (is ellipsis, condition)
    for spec in specs:
        if spec == "...":
            fields.append((True, None))
            continue
        m = re.match(r"([\w$-]*)\s*(.*)$", spec, re.DOTALL)
        name, rest = (m.group(1), m.group(2)) if m else ("", spec)
        fields.append((False, _space_condition(name, spec) if rest else None))

    def test(record: dict, raw: str) -> bool:
        return _align(fields, _space_fields(raw))
    return test


def _align(fields: list[tuple[bool, Callable[[str], bool] | None]], values: list[str]) -> bool:
    """Fields against the split text; `...` takes any number of values (a small dynamic programme)."""
    reachable = {0}
    for is_ellipsis, condition in fields:
        if is_ellipsis:
            reachable = set(range(min(reachable), len(values) + 1)) if reachable else set()
        else:
            reachable = {i + 1 for i in reachable if i < len(values) and (condition is None or condition(values[i]))}
        if not reachable:
            return False
    return len(values) in reachable


# ---------------------------------------------------------------------------------------------- keys

Branch = dict[str, frozenset[str]]


def _branches(tree: dict[str, Any]) -> list[Branch]:
    """OR-of-ANDs over exact eventSource / eventName equalities: an over-approximation for the replay index."""
    if "op" not in tree:
        if tree["field"] in ("eventSource", "eventName") and tree["cmp"] == "=" and tree["kind"] == "string":
            return [{tree["field"]: frozenset([tree["value"]])}]
        return [{}]
    if tree["op"] == "or":
        out = [b for arg in tree["args"] for b in _branches(arg)]
        return out if len(out) <= MAX_KEY_BRANCHES else [{}]
    result: list[Branch] = [{}]
    for arg in tree["args"]:
        merged = []
        for a in result:
            for b in _branches(arg):
                m = dict(a)
                for k, v in b.items():
                    m[k] = m[k] & v if k in m else v
                merged.append(m)
        result = merged if len(merged) <= MAX_KEY_BRANCHES else [{}]
    return result


def _keys(branches: list[Branch]) -> frozenset[Key]:
    keys: set[Key] = set()
    for b in branches:
        for s in b.get("eventSource", (None,)):
            for n in b.get("eventName", (None,)):
                keys.add((s, n))
    return frozenset(keys)


# ---------------------------------------------------------------------------------------------- API

@dataclass
class FilterPatternMatcher:
    pattern: str
    syntax: str  # empty | json | terms | space-delimited
    _test: Test
    candidate_keys: frozenset[Key]

    def matches(self, record: dict, raw: str | None = None) -> bool:
        """`raw` is the log event's text; the record's compact JSON (log_line) when not given."""
        if self.syntax == "empty":
            return True
        return self._test(record, log_line(record) if raw is None and self.syntax != "json" else raw or "")


ANY: frozenset[Key] = frozenset({(None, None)})


def compile_filter_pattern(pattern: str) -> FilterPatternMatcher:
    """Validate and compile; PatternError names what is wrong."""
    with collector_paused():
        return _compile(pattern)


def _compile(pattern: str) -> FilterPatternMatcher:
    if pattern is None or not str(pattern).strip():
        return FilterPatternMatcher(pattern or "", "empty", lambda record, raw: True, ANY)
    text = str(pattern)
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            tree = filter_pattern.parse_json_pattern(text)
            return FilterPatternMatcher(text, "json", _compile_tree(tree), _keys(_branches(tree)))
    except filter_pattern.FilterSyntaxError as e:
        raise PatternError(f"JSON filter pattern: {e}") from None
    except RecursionError:
        raise PatternError("JSON filter pattern nests too deeply") from None
    if stripped.startswith("["):
        return FilterPatternMatcher(text, "space-delimited", _space_delimited(stripped), ANY)
    return FilterPatternMatcher(text, "terms", _terms(text), ANY)
