"""A negation-aware scanner for KQL, EQL, ES|QL and Logs Insights queries.

It does not build the full boolean tree (four languages, each with pipes, sequences and functions); it
finds every `field <op> value(s)` comparison and whether it sits under a `not`. That is what signal
extraction needs: positive eventName/eventSource constraints become API signals, exclusions never do.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from dagster_project.lib.parsing.conditions import add_condition
from dagster_project.lib.parsing.event_sources import add_api_calls, aliases, normalise_source, wildcard_name
from dagster_project.lib.parsing.model import PREFIX, TEXT, Builder

_COMMENTS = re.compile(r'("""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')|//[^\n]*|/\*.*?\*/',
                       re.DOTALL)
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>\"\"\"(?:.|\n)*?\"\"\"|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*') |
      (?P<op>==|!=|<=|>=|=~|:|=|<|>) |
      (?P<punct>[()\[\],|]) |
      (?P<word>`[^`]+`|[\w@*?.$/~+-]+) |
      (?P<other>\S)
    )""", re.VERBOSE)

STRING_FUNCTIONS = {"stringcontains": "contains", "startswith": "startswith", "endswith": "endswith"}
# Operators after which a value (or list of values) follows
WORD_OPS = {"in": "in", "in~": "in", "like": "like", "like~": "like", "rlike": "regex", "regex": "regex",
            "regex~": "regex", "match": "regex"}
# Pseudo-fields of the languages themselves, never conditions
NOT_FIELDS = {"maxspan", "with", "by", "until", "runs", "size", "limit", "sort", "desc", "asc"}


@dataclass
class Comparison:
    field: str
    op: str  # = != < > <= >= in like regex contains startswith endswith exists
    values: list[str]
    negated: bool
    # ids of the groups (parentheses, brackets, function calls) enclosing the comparison, outermost first:
    # two comparisons relate when one's scope is a prefix of the other's, and not when they sit in sibling
    # groups — `(provider:X and action:A) or (provider:Y and action:B)` never pairs X with B
    scope: tuple[int, ...] = ()


@dataclass
class Scan:
    comparisons: list[Comparison]
    error: str | None = None

    def as_json(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(c).items() if k != "scope"} for c in self.comparisons]


def tokenize(text: str) -> list[tuple[str, str]]:
    text = _COMMENTS.sub(lambda m: m.group(1) or " ", text)
    out = []
    for m in _TOKEN.finditer(text):
        if m.lastgroup:
            out.append((m.lastgroup, m.group(m.lastgroup)))
    return out


def unquote(text: str) -> str:
    if text.startswith('"""'):
        return text[3:-3]
    if text[:1] in "\"'":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text.strip("`")


class _Scanner:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.i = tokens, 0
        self.groups: list[bool] = [False]  # negation of each open group
        self.ids: list[int] = [0]  # id of each open group
        self.next_id = 1
        self.pending_not = False
        self.found: list[Comparison] = []

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else ("end", "")

    def negated(self) -> bool:
        neg = self.groups[-1] ^ self.pending_not
        self.pending_not = False
        return neg

    def run(self) -> list[Comparison]:
        while self.i < len(self.tokens):
            kind, text = self.peek()
            low = text.lower()
            if kind == "word" and low == "not" and self.peek(1)[1].lower() not in ("in", "in~", "like", "rlike"):
                self.pending_not = not self.pending_not
                self.i += 1
            elif kind == "punct" and text in "([":
                self.open(self.negated())
                self.i += 1
            elif kind == "punct" and text in ")]":
                if len(self.groups) > 1:
                    self.groups.pop()
                    self.ids.pop()
                self.pending_not = False
                self.i += 1
            elif kind == "word" and self.peek(1) == ("punct", "("):
                self.function(low)
            elif kind == "word" and self._starts_comparison():
                self.comparison(unquote(text))
            else:
                if kind == "punct" and text == "|":
                    self.pending_not = False
                self.i += 1
        return self.found

    def open(self, negated: bool) -> None:
        self.groups.append(negated)
        self.ids.append(self.next_id)
        self.next_id += 1

    def add(self, field: str, op: str, values: list[str], negated: bool) -> None:
        self.found.append(Comparison(field, op, values, negated, tuple(self.ids)))

    def _starts_comparison(self) -> bool:
        kind, text = self.peek(1)
        low = text.lower()
        if kind == "op":
            return True
        if kind == "word" and low in WORD_OPS:
            return True
        return kind == "word" and low in ("not", "is") and self.peek(2)[1].lower() in (
            "in", "in~", "like", "rlike", "null", "not")

    def function(self, name: str) -> None:
        if name in STRING_FUNCTIONS:
            # stringContains(field, "text") -> a contains comparison; consume through the closing paren
            args, j = [], self.i + 2
            while j < len(self.tokens) and self.tokens[j] != ("punct", ")"):
                if self.tokens[j][0] in ("word", "string"):
                    args.append(unquote(self.tokens[j][1]))
                j += 1
            negated = self.negated()
            if len(args) >= 2:
                self.add(args[0], STRING_FUNCTIONS[name], args[1:], negated)
            self.i = j + 1
            return
        # Any other function (CASE, KQL, date_trunc): its arguments are scanned as a group
        self.open(self.negated())
        self.i += 2

    def comparison(self, field: str) -> None:
        self.i += 1
        kind, text = self.peek()
        low = text.lower()
        negated = self.negated()
        if low in ("not", "is"):
            words = []
            while self.peek()[0] == "word" and self.peek()[1].lower() in ("not", "is", "null"):
                words.append(self.peek()[1].lower())
                self.i += 1
            if words[-1:] == ["null"]:
                op = "is not null" if "not" in words else "is null"
                self.add(field, op, [], negated)
                return
            negated = not negated
            kind, text = self.peek()
            low = text.lower()
        op = WORD_OPS.get(low, text)
        self.i += 1
        values = self.values()
        if values:
            self.add(field, op, values, negated)

    def values(self) -> list[str]:
        kind, text = self.peek()
        if kind in ("string", "word") and self.peek(1) != ("punct", "("):
            self.i += 1
            return [unquote(text)]
        if kind == "punct" and text in "([":
            close = ")" if text == "(" else "]"
            out, j = [], self.i + 1
            while j < len(self.tokens) and self.tokens[j] != ("punct", close):
                tkind, ttext = self.tokens[j]
                if tkind == "string" or (tkind == "word" and ttext.lower() not in ("or", "and")):
                    out.append(unquote(ttext))
                if tkind == "punct" and ttext in "([":
                    return []  # a nested expression, not a value list: let the main loop scan it
                j += 1
            self.i = j + 1
            return out
        return []


def scan(text: str) -> Scan:
    try:
        return Scan(_Scanner(tokenize(text)).run())
    except Exception as e:  # a scanner bug must not lose the record: it becomes a low-confidence parse
        return Scan([], error=f"{type(e).__name__}: {e}")


def apply(b: Builder, result: Scan, field_names: dict[str, str] | None = None) -> None:
    """API signals from positive eventSource/eventName comparisons; conditions from the rest."""
    names_map = field_names or aliases()["elastic_fields"]
    if result.error:
        b.doubt(f"query not scanned: {result.error}", 0.0)
    sources: list[tuple[tuple[int, ...], str]] = []  # (scope, value) of positive eventSource tests
    names: list[tuple[tuple[int, ...], tuple[str, str]]] = []
    for c in result.comparisons:
        field = names_map.get(c.field, c.field)
        if c.field in ("event.dataset", "data_stream.dataset") and not c.negated:
            for v in c.values:
                b.entity("datasets", v)
            continue
        if field in ("eventSource", "eventName") and not c.negated and c.op in ("=", "==", ":", "in", "like"):
            for v in c.values:
                if field == "eventSource":
                    if "*" in v:
                        b.doubt(f"wildcard event source {v!r}", PREFIX)
                    else:
                        sources.append((c.scope, v))
                    continue
                name = wildcard_name(v)
                if name is None:
                    b.doubt(f"event name pattern {v!r} is not a prefix", TEXT)
                elif name[1] == "prefix":
                    b.doubt(f"event name prefix {v!r}", PREFIX)
                    names.append((c.scope, name))
                else:
                    names.append((c.scope, name))
            continue
        if c.op == "regex" and not c.negated:
            b.doubt(f"regular expression on {c.field}", TEXT if field == "eventName" else 0.8)
        if c.negated or field.split(".")[0] in NOT_FIELDS or field.startswith("Esql") or "kibana." in field:
            continue
        if "." not in field and field not in ("eventSource", "eventName", "errorCode", "errorMessage", "eventType"):
            continue
        _condition(b, field, c)
    _pair(b, sources, names)


def _related(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether two comparisons sit on one path of groups (one's scope encloses the other's)."""
    return a[:len(b)] == b or b[:len(a)] == a


def _pair(b: Builder, sources: list[tuple[tuple[int, ...], str]],
          names: list[tuple[tuple[int, ...], tuple[str, str]]]) -> None:
    """Each event name with the event sources its own part of the query names.

    `(event.provider:X and event.action:(A or B)) or (event.provider:Y and event.action:C)` pairs A and B
    with X and C with Y. A name with no source on its path (sources in a sibling group joined by `and`)
    is offered every source of the query, and add_api_calls keeps only pairs the seed confirms."""
    every = list(dict.fromkeys(v for _, v in sources))
    if not names:
        add_api_calls(b, every, [])
        return
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for scope, name in names:
        own = tuple(dict.fromkeys(v for s, v in sources if _related(s, scope))) or tuple(every)
        groups.setdefault(own, []).append(name)
    for own, group in groups.items():
        add_api_calls(b, own, group)
    for source in every:
        b.entity("event_sources", normalise_source(source))


def _condition(b: Builder, field: str, c: Comparison) -> None:
    if c.op in ("is null", "is not null"):
        add_condition(b, field, c.op, None)
        return
    op = {"in": "=", ":": "=", "==": "="}.get(c.op, c.op)
    if op in ("contains", "startswith", "endswith", "like", "regex"):
        op = f" {op} "
    for v in c.values[:10]:
        add_condition(b, field, op, v)
