"""Azure: Activity Log alerts, scheduled query rules and Microsoft Sentinel analytics rules (KQL), and Defender
for Cloud plans.

What a detection watches is the operations it requires, as `operation` signals in lower case (Azure compares
operation names case-insensitively and writes them in both cases):
- an Activity Log alert's `operationName` conditions (equals / containsAny);
- in KQL, the tests on `OperationNameValue` (AzureActivity's `MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE`),
  `OperationName` / `operationName` (AuditLogs' `Add member to role`, or an ARM operation) and `Operation`:
  `==`, `=~`, `in`, `in~`, `has_any`, `has` / `contains` / `startswith` / `endswith` (a LIKE pattern, qualifier
  `like`), with `let x = dynamic([...])` lists substituted. Negated tests (`!=`, `!in`, `!has`...) are exclusions.
  The tables a query reads are monitored entities. KQL is read by a scanner, not a full parser: pipelines of
  joins and functions are not followed, so its confidence is capped (0.8).
- in KQL, the tests on `RiskEventType` (AADUserRiskEvents, the Graph API's riskDetection `riskEventType`): the
  Microsoft Entra ID Protection risk detections the query asks for (`unlikelyTravel`, `passwordSpray`…), each a
  finding type `entra_id_protection:<risk event type>` in lower case, as GuardDuty's finding types are. Only exact
  tests name one (a pattern on finding types names none).
A Defender plan switched on (`pricingTier` Standard) is its finding family `defender:<plan>`, which the
knowledge (CTID capability rows assigned to plans, seeds/knowledge) maps to techniques. A Sentinel rule's own
tactics and techniques are declared mappings (sources/cloud_exports.declared_tags): never read here.
"""

from __future__ import annotations

import re
from typing import Any

from dagster_project.lib.parsing.gcp_logging import add_pattern, like_escape
from dagster_project.lib.parsing.model import EXACT, Builder, ParsedLogic

OPERATION_FIELDS = ("operationnamevalue", "operationname", "operation_name", "operation")
RISK_FIELDS = ("riskeventtype",)  # Entra ID Protection risk detections
RISK_FAMILY = "entra_id_protection"
_STRING = r'(?:@?"(?:[^"\\]|\\.)*"|@?\'(?:[^\'\\]|\\.)*\')'
_LIST = rf"\(\s*(?:{_STRING}|[A-Za-z_]\w*)(?:\s*,\s*(?:{_STRING}|[A-Za-z_]\w*))*\s*\)"
_FIELD = r"(?:\[['\"])?(?P<field>[A-Za-z_][\w.]*)(?:['\"]\])?"
_TEST = re.compile(
    rf"{_FIELD}\s*(?P<op>!?(?:==|=~|!=|!~|in~|in|has_any|has_all|has_cs|has|contains_cs|contains|startswith_cs|"
    rf"startswith|endswith_cs|endswith))\s*(?P<value>{_LIST}|{_STRING}|\(\s*[A-Za-z_]\w*\s*\))",
    re.IGNORECASE)
_LET = re.compile(r"\blet\s+(?P<name>[A-Za-z_]\w*)\s*=\s*(?:dynamic|pack_array)\s*\(\s*\[?(?P<body>[^;]*?)\]?\s*\)\s*;",
                  re.IGNORECASE | re.DOTALL)
_LET_STRING = re.compile(rf"\blet\s+(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<body>{_STRING})\s*;", re.IGNORECASE)
# a table: an identifier starting a statement, a union's operand or a parenthesised subquery, before a pipe
_TABLE = re.compile(r"(?:^\s*|;\s*|\bunion\s+(?:\w+\s*=\s*\w+\s+)*|,\s*|\(\s*)(?P<table>[A-Z][A-Za-z0-9_]+)\s*(?=\||$|\))",
                    re.MULTILINE)


def _strings(text: str) -> list[str]:
    out = []
    for m in re.finditer(_STRING, text):
        raw = m.group(0).lstrip("@")
        out.append(raw[1:-1])
    return out


def kql_signals(b: Builder, query: str) -> dict[str, Any]:
    """Read a KQL query's operation tests and tables into `b`."""
    text = re.sub(r"//[^\n]*", "", query or "")
    lists: dict[str, list[str]] = {}
    for m in _LET.finditer(text):
        lists[m.group("name")] = _strings(m.group("body"))
    for m in _LET_STRING.finditer(text):
        lists[m.group("name")] = _strings(m.group("body"))
    tests = []
    for m in _TEST.finditer(text):
        field, op, value = m.group("field"), m.group("op").lower(), m.group("value")
        kind = field.split(".")[-1].lower()
        if kind not in OPERATION_FIELDS + RISK_FIELDS:
            continue
        values = _strings(value)
        for name in re.findall(r"[(,]\s*([A-Za-z_]\w*)\s*(?=[,)])", value):
            values += lists.get(name, [])
        tests.append({"field": field, "op": op, "values": values})
        if op.startswith("!"):
            continue  # an exclusion
        if kind in RISK_FIELDS:
            if op in ("==", "=~", "in", "in~", "has_any"):
                for v in values:
                    if v.strip():
                        b.signal("finding_type", f"{RISK_FAMILY}:{v.strip().lower()}", "exact", EXACT)
            continue
        for v in values:
            v = v.strip().lower()
            if not v:
                continue
            if op in ("==", "=~", "in", "in~") or (op in ("has_any", "has", "has_cs") and "/" in v and v.count("/") >= 2):
                b.signal("operation", v, "exact", EXACT)
            elif op in ("startswith", "startswith_cs"):
                add_pattern(b, "operation", like_escape(v) + "%")
            elif op in ("endswith", "endswith_cs"):
                add_pattern(b, "operation", "%" + like_escape(v))
            else:  # has, contains, has_all: a part of the name
                add_pattern(b, "operation", "%" + like_escape(v) + "%")
    for m in _TABLE.finditer(text):
        b.entity("tables", m.group("table"))
    b.doubt("KQL read by a best-effort scanner", 0.8)
    return {"query": query, "operation_tests": tests}


def activity_log_alert(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
    b = Builder()
    leaves: list[dict] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("allOf", "anyOf"):
                for child in node.get(key) or []:
                    walk(child)
            if "field" in node:
                leaves.append(node)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(props.get("condition") or {})
    for leaf in leaves:
        field = str(leaf.get("field") or "").lower()
        values = [leaf["equals"]] if isinstance(leaf.get("equals"), str) else [
            v for v in leaf.get("containsAny") or [] if isinstance(v, str)]
        if field == "operationname":
            for v in values:
                b.signal("operation", v.strip().lower(), "exact", EXACT)
        elif field == "category":
            for v in values:
                b.entity("categories", v)
        elif field in ("resourcetype", "resourceprovider"):
            for v in values:
                b.entity("resource_types", v)
    groups = ((props.get("actions") or {}).get("actionGroups")) or []
    actions = [g.get("actionGroupId") if isinstance(g, dict) else g for g in groups]
    return b.build({"condition": props.get("condition")}, actions=[a for a in actions if isinstance(a, str)])


def scheduled_query_rule(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
    b = Builder()
    criteria = (props.get("criteria") or {}).get("allOf") or []
    conditions = [kql_signals(b, c.get("query") or "") for c in criteria if isinstance(c, dict)]
    actions = (props.get("actions") or {}).get("actionGroups") or []
    severity = {0: "critical", 1: "high", 2: "medium", 3: "low", 4: "info"}.get(props.get("severity"))
    return b.build({"criteria": conditions}, actions=[a for a in actions if isinstance(a, str)], severity=severity)


def sentinel_rule(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    """Scheduled and NRT rules carry KQL; Fusion, ML and Microsoft-security rules do not (left unparsed)."""
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
    b = Builder()
    query = props.get("query")
    if not isinstance(query, str):
        kind = obj.get("kind") or props.get("kind")
        b.doubt(f"{kind or 'this'} rule has no query to read", 0.0)
        return b.build({"kind": kind})
    conditions = kql_signals(b, query)
    return b.build(conditions, severity=props.get("severity"))


def defender_plan(obj: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
    b = Builder()
    plan = str(obj.get("name") or "")
    tier = str(props.get("pricingTier") or "")
    if tier.lower() == "standard":
        b.signal("finding_type", f"defender:{plan}", "exact", EXACT)
        return b.build({"plan": plan, "tier": tier, "sub_plan": props.get("subPlan")})
    # read in full: the plan is off, which its status says (no finding family, so no mapping)
    b.note(f"plan {plan} is on the {tier or 'unknown'} tier (no threat detection)")
    return b.build({"plan": plan, "tier": tier}, confidence=EXACT)
