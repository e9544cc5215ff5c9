"""`make eval` for Google Cloud and Azure: mapping accuracy on rule corpora written for them, labels hidden.

Each corpus rule becomes what a project or subscription would hold, built from its detection logic only (tags,
title and description never reach it), and goes through the product's path — raw storage, the parser, the dbt
mapping models — on the evaluator's scratch database:
- Sigma `rules/cloud/gcp/audit` and Google's Community Security Analytics (CSA, `backends/log_analytics/sql`,
  labels from `src/<id>/<id>.yaml`) -> a Cloud Logging log-based metric whose filter holds the rule's tests on
  the audit log's method name, service and resource type;
- Sigma `rules/cloud/azure` -> a scheduled query rule whose KQL holds the rule's tests on the operation name
  (Activity Log's operationName, Entra ID audit's OperationName / properties.message) or on the risk detection's
  type (riskEventType, read from AADUserRiskEvents).
Tests no filter of that kind expresses (keywords, other fields) are left out, as an author would have to.
Corpora are never knowledge: before scoring, the indicator sources in play are checked against the corpus name
(lib/evaluation/holdout, "sigma" and "csa").
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from dagster_project.lib.detections.store import AccountScan
from dagster_project.lib.evaluation import holdout, scoring
from dagster_project.lib.sources.rule_repos import SIGMA_TECHNIQUE

# corpus -> (provider, holdout name, where under DCV_SHARED)
CORPORA = {
    "sigma_gcp": ("gcp", "sigma", "sigma/rules/cloud/gcp/audit"),
    "csa_gcp": ("gcp", "csa", "gcp-security-analytics"),
    "sigma_azure": ("azure", "sigma", "sigma/rules/cloud/azure"),
}
GCP_METHOD = {"gcp.audit.method_name", "data.protopayload.methodname", "protopayload.methodname"}
GCP_SERVICE = {"data.protopayload.servicename", "protopayload.servicename", "gcp.audit.service_name"}
GCP_RESOURCE = {"data.protopayload.resource.type", "resource.type"}
AZURE_OPERATION = {"operationname", "operationnamevalue", "properties.message", "activitydisplayname"}
AZURE_RISK = {"riskeventtype"}  # Entra ID Protection's risk detections (and PIM's alerts, in Sigma's rules)

INFERRED = """
select p.native_id, m.attack_technique_id, m.confidence_score::float
from raw.detection_presence as p
inner join marts.content_technique_mappings as m on p.content_hash = m.content_hash
where p.source = %(corpus)s and m.mapping_method <> 'declared'
"""


# --- Sigma -----------------------------------------------------------------------------------------------------

def sigma_rules(root: Path) -> Iterator[tuple[str, dict, set[str]]]:
    """(rule id, detection, labels) for every Sigma rule under root; the detection alone goes on."""
    for path in sorted(root.rglob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("detection"), dict):
            continue
        labels = {m.group(1).upper() for t in doc.get("tags") or [] if (m := SIGMA_TECHNIQUE.match(str(t)))}
        yield str(doc.get("id") or path.stem), doc["detection"], labels


def sigma_tests(detection: dict) -> list[tuple[str, list[str], list[str]]]:
    """(field, modifiers, values) of the selections a rule's condition requires (those it negates left out)."""
    condition = str(detection.get("condition") or "")
    negated = set(re.findall(r"\bnot\s+(?:1 of |all of )?([\w*]+)", condition))

    def is_negated(name: str) -> bool:
        return any(re.fullmatch(n.replace("*", ".*"), name) for n in negated)

    tests = []
    for name, selection in detection.items():
        if name == "condition" or is_negated(name):
            continue
        for block in selection if isinstance(selection, list) else [selection]:
            if not isinstance(block, dict):
                continue  # keywords: free text
            for key, values in block.items():
                field, *modifiers = str(key).split("|")
                values = values if isinstance(values, list) else [values]
                tests.append((field, modifiers, [str(v) for v in values if v is not None]))
    return tests


def _quote(value: str) -> str:
    # as written: "Update application – Certificates…" keeps its dash (KQL and Logging strings are Unicode; an
    # escaped \u2013 would be a different operation name to the parser)
    return json.dumps(value, ensure_ascii=False)


def _regex(value: str, modifiers: list[str]) -> str:
    body = ".*".join(re.escape(part) for part in value.split("*"))
    if "startswith" in modifiers:
        return f"^{body}"
    if "endswith" in modifiers:
        return f"{body}$"
    return f"^{body}$"


def logging_filter(tests: list[tuple[str, list[str], list[str]]]) -> str:
    """A Cloud Logging filter holding the tests on the audit log's method, service and resource type."""
    parts = []
    for field, modifiers, values in tests:
        name = field.lower()
        if name in GCP_METHOD:
            target = "protoPayload.methodName"
        elif name in GCP_SERVICE:
            target = "protoPayload.serviceName"
        elif name in GCP_RESOURCE:
            target = "resource.type"
        else:
            continue
        terms = []
        for value in values:
            if "contains" in modifiers:
                terms.append(f"{target}:{_quote(value)}")
            elif "startswith" in modifiers or "endswith" in modifiers or "*" in value:
                terms.append(f"{target}=~{_quote(_regex(value, modifiers))}")
            else:
                terms.append(f"{target}={_quote(value)}")
        if terms:
            parts.append("(" + " OR ".join(terms) + ")")
    return " AND ".join(parts)


def kql_query(tests: list[tuple[str, list[str], list[str]]], table: str) -> str:
    """A KQL query holding the tests on the operation name, or on the risk detection's type."""
    lines = [table]
    for field, modifiers, values in tests:
        if field.lower() not in AZURE_OPERATION | AZURE_RISK or not values:
            continue
        column = ("RiskEventType" if field.lower() in AZURE_RISK else
                  "OperationNameValue" if table == "AzureActivity" else "OperationName")
        if "contains" in modifiers or "startswith" in modifiers or "endswith" in modifiers:
            op = "contains" if "contains" in modifiers else "startswith" if "startswith" in modifiers else "endswith"
            lines.append("| where " + " or ".join(f"{column} {op} {_quote(v)}" for v in values))
        else:
            lines.append(f"| where {column} in~ ({', '.join(_quote(v) for v in values)})")
    return "\n".join(lines)


# --- Community Security Analytics ----------------------------------------------------------------------------

_CSA_METHOD = re.compile(r"(?<![\w.])(?:proto_payload\.audit_log\.method_name|protopayload_auditlog\.methodName)"
                         r"\s+(NOT\s+LIKE|LIKE|=|IN)\s*(\([^)]*\)|\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_CSA_RESOURCE = re.compile(r"resource\.type\s*(=|IN)\s*(\([^)]*\)|\"[^\"]*\"|'[^']*')", re.IGNORECASE)


def csa_rules(root: Path) -> Iterator[tuple[str, list[tuple[str, list[str], list[str]]], set[str]]]:
    """(rule id, tests, labels) for each CSA detection with a Log Analytics query; labels from its YAML."""
    for spec in sorted((root / "src").glob("*/*.yaml")):
        doc = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
        rule_id = str(doc.get("id") or spec.stem)
        labels = {str(m.get("technique")).upper() for m in doc.get("attack_mapping") or [] if m.get("technique")}
        queries = sorted((root / "backends" / "log_analytics" / "sql").glob(rule_id.replace(".", "_") + "_*.sql"))
        if not queries:
            continue
        sql = re.sub(r"--[^\n]*|/\*.*?\*/", "", queries[0].read_text(encoding="utf-8"), flags=re.DOTALL)
        tests = []
        for op, value in _CSA_METHOD.findall(sql):
            if op.upper().startswith("NOT"):
                continue
            values = re.findall(r"\"([^\"]*)\"|'([^']*)'", value)
            values = [a or b for a, b in values]
            if op.upper() == "LIKE":
                tests += [("protoPayload.methodName", ["like"], [v]) for v in values]
            else:
                tests.append(("protoPayload.methodName", [], values))
        for _, value in _CSA_RESOURCE.findall(sql):
            tests.append(("resource.type", [], [a or b for a, b in re.findall(r"\"([^\"]*)\"|'([^']*)'", value)]))
        yield rule_id, tests, labels


def csa_filter(tests: list[tuple[str, list[str], list[str]]]) -> str:
    """LIKE patterns become anchored regular expressions (what a Logging filter offers). The tests on one field
    are alternatives: the queries write `method = A OR method = B`, or `(type = X AND method LIKE P) OR (type IN
    (...) AND method = Q)`, and one value cannot equal two, so ANDing them would require what never happens."""
    terms: dict[str, list[str]] = {}
    for field, modifiers, values in tests:
        if "like" in modifiers:
            regex = "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in values[0]) + "$"
            terms.setdefault(field, []).append(f"{field}=~{_quote(regex)}")
        else:
            terms.setdefault(field, []).extend(f"{field}={_quote(v)}" for v in values)
    return " AND ".join("(" + " OR ".join(dict.fromkeys(found)) + ")" for found in terms.values())


# --- records ---------------------------------------------------------------------------------------------------

def corpus_records(corpus: str, root: Path) -> tuple[list[dict], dict[str, set[str]]]:
    """The corpus as detection records (one per rule, its labels left out) and each rule's labels."""
    provider = CORPORA[corpus][0]
    records, labels = [], {}
    if corpus == "csa_gcp":
        rules = ((rid, csa_filter(tests), found) for rid, tests, found in csa_rules(root))
    elif provider == "gcp":
        rules = ((rid, logging_filter(sigma_tests(det)), found) for rid, det, found in sigma_rules(root))
    else:
        rules = ((rid, det, found) for rid, det, found in sigma_rules(root))
    for rule_id, logic, found in rules:
        labels[rule_id] = found
        if provider == "gcp":
            api_object = {"name": f"eval-{rule_id}", "filter": logic or 'logName:"cloudaudit.googleapis.com"'}
            kind, service = "log_metric", "cloud_logging"
        else:
            text = json.dumps(logic)
            table = ("AzureActivity" if "operationName" in text else "AADUserRiskEvents" if "riskEventType" in text
                     else "AuditLogs")
            api_object = {"name": f"eval-{rule_id}", "enabled": True,
                          "criteria": {"allOf": [{"query": kql_query(sigma_tests(logic), table)}]},
                          "actions": {"actionGroups": ["/eval"]}}
            kind, service = "scheduled_query_rule", "azure_monitor"
        records.append({"provider": provider, "service": service, "detection_type": kind, "native_id": rule_id,
                        "name": rule_id, "region": "", "account_id": "", "api_object": api_object,
                        "related": {}})
    return records, labels


def scans(shared_dir: Path) -> tuple[list[AccountScan], dict[str, dict[str, set[str]]]]:
    """One scan per corpus found under shared_dir, and each corpus's labels."""
    found, truth = [], {}
    for corpus, (_, _, relative) in CORPORA.items():
        root = shared_dir / relative
        if not root.is_dir():
            print(f"skipping {corpus}: {root} not found (set DCV_SHARED)")
            continue
        records, labels = corpus_records(corpus, root)
        truth[corpus] = labels
        now = datetime.now(UTC)
        found.append(AccountScan(corpus, "", now, records, completed_at=now))
    return found, truth


def evaluate(url: str, shared_dir: Path, threshold: float, curve_thresholds, day: date) -> tuple[list, list, list]:
    """Store, parse and map the Google Cloud and Azure corpora on the scratch database `url` (ATT&CK and the
    knowledge loaded), then score them: (score rows, curve rows, report lines) as evaluate.main prints them."""
    from dagster_project.lib.warehouse import connection, scratch

    corpus_scans, truth = scans(shared_dir)
    if not corpus_scans:
        return [], [], []
    scratch.map_scans(url, day, corpus_scans)
    rows, curve, report, details = [], [], [], {}
    with connection.connect(url) as conn:
        sources = [s for (s,) in conn.execute("select distinct source from marts.threat_indicators")]
        current = dict(conn.execute("""
            select t.technique_id, coalesce(t.revoked_by_technique_id, t.technique_id)
            from marts.mitre_techniques as t
            inner join marts.mitre_versions as v on t.version_id = v.id and v.is_active""").fetchall())
        for corpus, labels in truth.items():
            holdout.assert_held_out(sources, CORPORA[corpus][1])
            inferred = conn.execute(INFERRED, {"corpus": corpus}).fetchall()
            predicted = scoring.predicted_at(inferred, threshold)
            labels = {rule: {current.get(t, t) for t in tags} for rule, tags in labels.items()}
            labels, unknown = scoring.split_unknown(labels, current)
            for level in ("technique", "parent"):
                rows.append((corpus, level, scoring.score(labels, predicted, level)))
            curve += [(corpus, *point) for point in scoring.curve(labels, inferred,
                                                                  sorted({*curve_thresholds, threshold}))]
            if os.environ.get("DCV_EVAL_DETAILS"):  # each rule's labels and predictions, for review
                details[corpus] = {r: {"labels": sorted(labels.get(r, ())), "predicted": sorted(predicted.get(r, ()))}
                                   for r in sorted(labels)}
            labelled = sum(1 for tags in labels.values() if tags)
            missed, wrong = scoring.worst(labels, predicted)
            report.append(f"{corpus} ({CORPORA[corpus][0]}): {len(labels)} rules, {labelled} with a technique label"
                          f"{f', {len(unknown)} with labels ATT&CK 18.1 lacks' if unknown else ''}; rules with a "
                          f"prediction: {sum(1 for r in labels if predicted.get(r))}; most missed {missed}; "
                          f"most wrongly claimed {wrong}")
    if details:
        Path(os.environ["DCV_EVAL_DETAILS"] + ".providers.json").write_text(json.dumps(details, indent=1))
    return rows, curve, report
