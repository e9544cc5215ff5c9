"""A recursive-descent parser for CloudWatch Logs JSON filter patterns.

    { ($.eventName = CreateTrail) || ($.eventName = "UpdateTrail") && ($.userIdentity.type = "Root") }

Grammar (&& binds tighter than ||, as in every C-like language; parentheses override):

    pattern    := '{' or_expr '}'
    or_expr    := and_expr ('||' and_expr)*
    and_expr   := primary ('&&' primary)*
    primary    := '(' or_expr ')' | comparison
    comparison := selector (op value | 'IS' ('NULL'|'TRUE'|'FALSE') | 'NOT' 'EXISTS')
    op         := '=' | '!=' | '<' | '>' | '<=' | '>='
    value      := "quoted" | bare-word | %regex%

The tree is plain JSON: {"op": "or"|"and", "args": [...]} and {"field", "cmp", "value", "kind"} leaves
(kind: string|number|wildcard|regex|null|bool|exists).
"""

from __future__ import annotations

import re
from typing import Any


class FilterSyntaxError(ValueError):
    pass


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<lbrace>\{) | (?P<rbrace>\}) | (?P<lpar>\() | (?P<rpar>\)) |
      (?P<and>&&) | (?P<or>\|\|) |
      (?P<op><=|>=|!=|=|<|>) |
      (?P<selector>\$(?:\.[\w@:-]+|\[\d+\]|\.\*)*) |
      (?P<string>"[^"\\]*(?:\\.[^"\\]*)*") |
      (?P<regex>%[^%\\]*(?:\\.[^%\\]*)*%) |
      (?P<word>[^\s(){}&|=!<>"]+)
    )""", re.VERBOSE)


# CloudWatch's NUMBER: an optional sign, an integer or decimal, an optional exponent (`+1000`, `10e-3`, `55.5`)
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterSyntaxError(f"unexpected character {text[pos:pos + 10]!r} at {pos}")
        pos = m.end()
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.i = tokens, 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        tok_kind, text = self.peek()
        if tok_kind != kind:
            raise FilterSyntaxError(f"expected {kind}, found {text or 'end of pattern'!r}")
        self.i += 1
        return text

    def pattern(self) -> dict[str, Any]:
        self.take("lbrace")
        tree = self.or_expr()
        self.take("rbrace")
        if self.peek()[0] != "end":
            raise FilterSyntaxError(f"text after closing brace: {self.peek()[1]!r}")
        return tree

    def _chain(self, op: str, operand) -> dict[str, Any]:
        args = [operand()]
        while self.peek()[0] == op:
            self.i += 1
            args.append(operand())
        return args[0] if len(args) == 1 else {"op": op, "args": args}

    def or_expr(self) -> dict[str, Any]:
        return self._chain("or", self.and_expr)

    def and_expr(self) -> dict[str, Any]:
        return self._chain("and", self.primary)

    def primary(self) -> dict[str, Any]:
        if self.peek()[0] == "lpar":
            self.i += 1
            inner = self.or_expr()
            self.take("rpar")
            return inner
        return self.comparison()

    def comparison(self) -> dict[str, Any]:
        field = self.take("selector").removeprefix("$").removeprefix(".")
        kind, text = self.peek()
        if kind == "word" and text.upper() in ("IS", "NOT"):
            return self._keyword_test(field)
        op = self.take("op")
        return {"field": field, "cmp": op, **self.value()}

    def _keyword_test(self, field: str) -> dict[str, Any]:
        first = self.take("word").upper()
        second = self.take("word").upper() if self.peek()[0] == "word" else ""
        if first == "NOT" and second == "EXISTS":
            return {"field": field, "cmp": "not exists", "value": None, "kind": "exists"}
        if first == "IS" and second in ("NULL", "TRUE", "FALSE"):
            kind = "null" if second == "NULL" else "bool"
            return {"field": field, "cmp": "is", "value": second.lower(), "kind": kind}
        raise FilterSyntaxError(f"unknown test {first} {second} on {field}")

    def value(self) -> dict[str, Any]:
        kind, text = self.peek()
        self.i += 1
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", text[1:-1])
            return {"value": raw, "kind": "wildcard" if "*" in raw else "string"}
        if kind == "regex":
            return {"value": text[1:-1], "kind": "regex"}
        if kind == "word":
            if NUMBER.fullmatch(text):
                return {"value": text, "kind": "number"}
            return {"value": text, "kind": "wildcard" if "*" in text else "string"}
        raise FilterSyntaxError(f"expected a value, found {text or 'end of pattern'!r}")


def parse_json_pattern(text: str) -> dict[str, Any]:
    """The condition tree of a `{ ... }` pattern; FilterSyntaxError when it is not one."""
    return _Parser(tokenize(text)).pattern()


def leaves(tree: dict[str, Any]) -> list[dict[str, Any]]:
    if "op" in tree:
        return [leaf for arg in tree["args"] for leaf in leaves(arg)]
    return [tree]


def is_json_pattern(text: str) -> bool:
    return text.strip().startswith("{")


def normalise_text_pattern(text: str) -> str:
    """Space-delimited / plain-text patterns compared across accounts: collapse whitespace only."""
    return " ".join(text.split())
