"""Google Cloud: the Logging query language (log-based metric and log-match alert filters), log-based metrics,
Cloud Monitoring alert policies and Security Command Center services.

What a filter watches is its tests on the audit log record that are *required* (not under NOT):
- `protoPayload.methodName` -> `method` signals, normalised (`method_name`): lower case, a leading API version
  segment (`v1.`, `beta.`) dropped, since Compute Engine writes `v1.compute.instances.insert` and
  `beta.compute.instances.insert` for the same operation; `=` is exact, `:` (has) and `=~` (a regular
  expression that is not a plain alternation of names) become a SQL LIKE pattern (qualifier `like`);
- `protoPayload.serviceName`, `resource.type`, `logName` -> monitored entities;
- a log-based metric's own metric (`logging.googleapis.com/user/<name>`) -> a `metric` signal, which is how an
  alert policy is tied to the metrics it watches (the alert path, docs/coverage-semantics.md).

Grammar (https://cloud.google.com/logging/docs/view/logging-query-language): comparisons `field OP value`
(OP one of = != : =~ !~ < <= > >=), values quoted or bare, or a parenthesised OR-list of values; AND, OR, NOT,
a leading `-`, parentheses, and adjacency meaning AND. Bare words (global text search) are kept as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dagster_project.lib.parsing.model import EXACT, PREFIX, Builder, ParsedLogic, failed

METHOD_FIELDS = {"protopayload.methodname", "protopayload.method_name", "proto_payload.audit_log.method_name",
                 "gcp.audit.method_name", "data.protopayload.methodname"}
SERVICE_FIELDS = {"protopayload.servicename", "proto_payload.audit_log.service_name", "data.protopayload.servicename"}
RESOURCE_FIELDS = {"resource.type", "data.protopayload.resource.type"}
LOG_FIELDS = {"logname", "log_id", "data.protopayload.logname"}
USER_METRIC = "logging.googleapis.com/user/"
_VERSION_SEGMENT = re.compile(r"^(v\d+\w*|v\*|v%|beta\d*|alpha\d*)\.", re.IGNORECASE)


def method_name(value: str) -> str:
    """The form indicators are written in: lower case, without a leading API version segment."""
    return _VERSION_SEGMENT.sub("", value.strip()).lower()


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _separators(text: str) -> int:
    """Name segments boundaries: '/' in an Azure operation (whose provider holds a dot), else '.' and spaces."""
    return text.count("/") if "/" in text else text.count(".") + text.count(" ")


def specific(like: str) -> bool:
    """Whether a name pattern says what is acted on: its literal parts hold two segment boundaries
    (`%.serviceaccounts.delete`, `%member to role%`) or a long name (`%createserviceaccount%`). A pattern on
    the verb alone (`%create`, `%/write`) admits operations of every service, one on a provider or service
    namespace (`microsoft.network/%`) every operation of it: neither claims a technique. A resource type's
    namespace (`compute.firewalls.%`) is specific: every operation on firewall rules."""
    parts = re.split(r"(?<!\\)[%_]", like)
    literal = "".join(parts)
    if re.search(r"[./ ]%$", like) and _separators(parts[-2] if len(parts) > 1 else literal) < 2:
        return False
    longest = max((len(w) for w in re.findall(r"[a-z0-9]+", literal)), default=0)
    # an Azure provider and resource type (microsoft.network/dnszones) is a resource type's namespace
    return _separators(literal) >= 2 or longest >= 12 or bool(re.match(r"microsoft\.\w+/\w", literal))


# --- the query language ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<op>=~|!~|!=|<=|>=|=|:|<|>)
    | (?P<paren>[()])
    | (?P<word>[^\s()"=:<>!~]+(?:![^\s()"=:<>~]+)*)
    )""", re.VERBOSE)


@dataclass
class Test:
    field: str
    op: str
    values: list[str]
    negated: bool = False


@dataclass
class Query:
    tests: list[Test] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # bare words: global text search


class QueryError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    # comments run from -- to the end of the line
    text = re.sub(r"(?m)^\s*--.*$", "", text)
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"cannot read the filter at {text[pos:pos + 30]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "string":
            value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over the tokens; collects each comparison with whether it sits under a NOT, and
    whether it is one of several OR-ed branches (kept simple: what a filter requires is read by polarity)."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.i, self.query = tokens, 0, Query()

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Query:
        self.expr(False)
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()[1]!r}")
        return self.query

    def expr(self, negated: bool) -> None:
        self.conjunction(negated)
        while self.peek() == ("word", "OR"):
            self.take()
            self.conjunction(negated)

    def conjunction(self, negated: bool) -> None:
        self.unary(negated)
        while (tok := self.peek()) is not None and tok != ("paren", ")") and tok != ("word", "OR"):
            if tok == ("word", "AND"):
                self.take()
            self.unary(negated)

    def unary(self, negated: bool) -> None:
        tok = self.peek()
        if tok == ("word", "NOT"):
            self.take()
            return self.unary(not negated)
        if tok and tok[0] == "word" and tok[1].startswith("-") and len(tok[1]) > 1:
            self.tokens[self.i] = ("word", tok[1][1:])
            return self.unary(not negated)
        return self.primary(negated)

    def primary(self, negated: bool) -> None:
        tok = self.peek()
        if tok is None:
            raise QueryError("the filter ends early")
        if tok == ("paren", "("):
            self.take()
            self.expr(negated)
            if self.peek() != ("paren", ")"):
                raise QueryError("unbalanced parentheses")
            self.take()
            return
        if tok[0] in ("word", "string") and (nxt := self.peek(1)) is not None and nxt[0] == "op":
            self.take()
            _, op = self.take()
            self.query.tests.append(Test(tok[1], op, self.values(), negated))
            return
        if tok[0] in ("word", "string"):
            self.take()
            self.query.text.append(tok[1])
            return
        raise QueryError(f"unexpected {tok[1]!r}")

    def values(self) -> list[str]:
        tok = self.peek()
        if tok == ("paren", "("):
            self.take()
            values = []
            while (tok := self.peek()) is not None and tok != ("paren", ")"):
                kind, value = self.take()
                if kind in ("word", "string") and not (kind == "word" and value == "OR"):
                    values.append(value)
            if tok is None:
                raise QueryError("unbalanced parentheses")
            self.take()
            return values
        if tok is None or tok[0] not in ("word", "string"):
            raise QueryError("a comparison without a value")
        return [self.take()[1]]


def parse_filter(text: str) -> Query:
    return _Parser(_tokens(text)).parse()


# --- signals --------------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[\w.$/-]+$")


def regex_alternatives(pattern: str) -> list[str] | None:
    """`^(a|b)$` or `a|b` of plain names -> [a, b]; None when the pattern is more than that."""
    body = pattern.strip().removeprefix("^").removesuffix("$")
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    parts = body.split("|")
    return parts if all(_PLAIN.match(p.replace("\\.", ".")) for p in parts) else None


_REGEX_PART = re.compile(r"\\\.|\.\*|\.\+|\\d\+|\\d\*|\[0-9\]\+|\.|[A-Za-z0-9_/-]+")


def regex_to_like(pattern: str) -> str | None:
    """A regular expression of literal text, `\\.` (or `.`), `.*`/`.+` and `\\d+` as a LIKE pattern (lower case, the
    method name's version segment dropped); None when it uses anything else (classes, groups, repetition)."""
    text = pattern.strip()
    start, end = text.startswith("^"), text.endswith("$") and not text.endswith("\\$")
    body = text[1 if start else 0:len(text) - 1 if end else len(text)]
    out, pos = [], 0
    while pos < len(body):
        m = _REGEX_PART.match(body, pos)
        if not m:
            return None
        part = m.group(0)
        # an unescaped dot is read as the dot it almost always means in a method name
        out.append("." if part in ("\\.", ".") else "%" if part in (".*", ".+", "\\d+", "\\d*", "[0-9]+") else
                   like_escape(part))
        pos = m.end()
    like = ("" if start else "%") + "".join(out) + ("" if end else "%")
    return _VERSION_SEGMENT.sub("", like.lower()) if start else like.lower()


def add_pattern(b: Builder, signal_type: str, like: str) -> None:
    """A name pattern as a `like` signal, unless it is too broad to say what it watches (`specific`)."""
    if specific(like):
        b.signal(signal_type, like, "like", PREFIX)
    else:
        b.doubt(f"name pattern too broad to map: {like}", 0.6)


def add_method_test(b: Builder, op: str, value: str, anchored: bool = True) -> None:
    """One required test on the method name: exact names as `method`, anything looser as a LIKE pattern."""
    if op == "=":
        name = method_name(value)
        if "*" in name:
            add_pattern(b, "method", like_escape(name).replace("*", "%"))
        else:
            b.signal("method", name, "exact", EXACT)
    elif op == ":":
        add_pattern(b, "method", "%" + like_escape(value.strip().lower()) + "%")
        b.doubt("method name matched by substring (:)", 0.8)
    elif op == "=~":
        text = value.strip()
        start, end = text.startswith("^"), text.endswith("$")
        names = regex_alternatives(text)
        # each alternative with the whole pattern's anchors: ^(a|b)$ is a or b exactly
        for part in names if names is not None else [text.removeprefix("^").removesuffix("$")]:
            like = regex_to_like(("^" if start else "") + part + ("$" if end else ""))
            if like is None:
                b.doubt(f"method name regular expression not read: {value[:80]}", 0.5)
            elif "%" in like or "_" in like.replace("\\_", ""):
                add_pattern(b, "method", like)
            else:  # a fully anchored literal: the name itself
                b.signal("method", method_name(like.replace("\\", "")), "exact", EXACT)


def filter_signals(b: Builder, text: str) -> dict[str, Any]:
    """Read a Logging filter into `b`; the trigger conditions describe it."""
    query = parse_filter(text)
    conditions: dict[str, Any] = {"filter": text}
    for test in query.tests:
        name = test.field.lower()
        if test.negated or test.op in ("!=", "!~"):
            continue  # an exclusion narrows the detection; it names nothing the detection watches
        if name in METHOD_FIELDS:
            for value in test.values:
                add_method_test(b, test.op, value)
        elif name in SERVICE_FIELDS and test.op in ("=", ":"):
            for value in test.values:
                b.entity("services", value)
                b.signal("service", value, "exact", 0.4)
        elif name in RESOURCE_FIELDS:
            for value in test.values:
                b.entity("resource_types", value)
        elif name in LOG_FIELDS:
            for value in test.values:
                b.entity("logs", value)
        elif name == "metric.type" and test.values and test.values[0].startswith(USER_METRIC):
            b.signal("metric", test.values[0], "exact", EXACT)
    if query.text:
        conditions["text_search"] = query.text
        b.doubt("global text search in the filter", 0.6)
    return conditions


def _with_filter(b: Builder, text: str) -> dict[str, Any] | ParsedLogic:
    try:
        return filter_signals(b, text)
    except QueryError as exc:
        return failed(f"Logging filter not read: {exc}", {"filter": text})


def log_metric(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    conditions = _with_filter(b, obj.get("filter") or "")
    if isinstance(conditions, ParsedLogic):
        return conditions
    metric = USER_METRIC + str(obj.get("name", "")).rsplit("/", 1)[-1]
    b.signal("metric", metric, "exact", 0.3)  # ties alert policies to it; says nothing of what it watches
    b.entity("metrics", metric)
    return b.build(conditions)


def alert_policy(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    """A policy watches log-based metrics (metric-threshold/absence conditions) or logs directly (log-match
    conditions, whose filter is read like a metric's)."""
    b = Builder()
    conditions: dict[str, Any] = {"conditions": []}
    for condition in obj.get("conditions") or []:
        if not isinstance(condition, dict):
            continue
        matched = condition.get("conditionMatchedLog")
        if isinstance(matched, dict):
            read = _with_filter(b, matched.get("filter") or "")
            if isinstance(read, ParsedLogic):
                return read
            conditions["conditions"].append({"log_match": read})
            continue
        for key in ("conditionThreshold", "conditionAbsent"):
            watched = condition.get(key)
            if isinstance(watched, dict):
                found = re.search(r'metric\.type\s*=\s*"([^"]+)"', watched.get("filter") or "")
                if found:
                    b.signal("metric", found.group(1), "exact", 0.5)
                    b.entity("metrics", found.group(1))
                conditions["conditions"].append({key: watched.get("filter")})
    severity = obj.get("severity")
    logic = b.build(conditions, actions=list(obj.get("notificationChannels") or []),
                    severity=(severity or "").lower() if isinstance(severity, str) else None)
    return logic


def scc_service(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    """An SCC service's finding family: `scc:<SERVICE>` (event-threat-detection -> EVENT_THREAT_DETECTION),
    which the knowledge (CTID capability rows assigned to services, seeds/knowledge) maps to techniques."""
    b = Builder()
    service = str(obj.get("name", "")).rsplit("/", 1)[-1].upper().replace("-", "_")
    state = obj.get("effectiveEnablementState") or obj.get("intendedEnablementState")
    if state == "ENABLED":
        b.signal("finding_type", f"scc:{service}", "exact", EXACT)
    modules = obj.get("modules") if isinstance(obj.get("modules"), dict) else {}
    off = sorted(k for k, v in modules.items() if isinstance(v, dict) and v.get("effectiveEnablementState") == "DISABLED")
    if off:
        b.note(f"modules disabled: {', '.join(off)}")
    if state != "ENABLED":
        b.note(f"service {state or 'state unknown'}")  # read in full: its status says it is off
    return b.build({"service": service, "state": state, "modules_disabled": off}, confidence=EXACT)
