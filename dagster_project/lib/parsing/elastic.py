"""Elastic detection rules (TOML): KQL, EQL and (best effort) ES|QL queries -> signals.

rule.threat, rule.name, rule.description and rule.tags carry the ATT&CK labels being evaluated: they are
dropped before parsing, as for Sigma.
"""

from __future__ import annotations

from typing import Any

from dagster_project.lib.parsing import query_scan
from dagster_project.lib.parsing.model import Builder, ParsedLogic

HIDDEN_RULE_KEYS = ("threat", "name", "description", "tags", "note", "references", "false_positives")
# ES|QL pipelines aggregate and rename; what the scanner reads from them is less certain
LANGUAGE_CAP = {"kuery": 1.0, "lucene": 0.8, "eql": 1.0, "esql": 0.8}


def strip_labels(document: dict[str, Any]) -> dict[str, Any]:
    rule = {k: v for k, v in (document.get("rule") or {}).items() if k not in HIDDEN_RULE_KEYS}
    return {**{k: v for k, v in document.items() if k != "rule"}, "rule": rule}


def elastic_rule(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    doc = strip_labels(api_object)
    rule = doc["rule"]
    b = Builder()
    language, rule_type = rule.get("language"), rule.get("type")
    for index in rule.get("index") or []:
        b.entity("indices", str(index))
    query = rule.get("query")
    if not isinstance(query, str) or not query.strip():
        b.doubt(f"{rule_type or 'unknown'} rule has no query", 0.0)
        return b.build({"type": rule_type, "language": language}, severity=rule.get("severity"))
    scan = query_scan.scan(query)
    query_scan.apply(b, scan)
    cap = LANGUAGE_CAP.get(language or "kuery", 0.5)
    if cap < 1.0:
        b.doubt(f"{language} query read by a best-effort scanner", cap)
    conditions: dict[str, Any] = {"type": rule_type, "language": language, "query": query,
                                  "comparisons": scan.as_json()}
    for key in ("threshold", "new_terms", "risk_score"):
        if key in rule:
            conditions[key] = rule[key]
    return b.build(conditions, severity=rule.get("severity"))
