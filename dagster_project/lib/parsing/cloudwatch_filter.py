"""CloudWatch detections: metric filters, Logs Insights queries, metric alarms."""

from __future__ import annotations

import functools
from typing import Any

from dagster_project.lib.parsing import filter_pattern, query_scan
from dagster_project.lib.parsing.conditions import add_condition
from dagster_project.lib.parsing.event_sources import add_api_calls, wildcard_name
from dagster_project.lib.parsing.model import PREFIX, TEXT, Builder, ParsedLogic, Recorder


def metric_filter(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    b = Builder()
    pattern = api_object.get("filterPattern")
    pattern = "" if pattern is None else str(pattern)
    if api_object.get("logGroupName"):
        b.entity("log_groups", api_object["logGroupName"])
    for t in api_object.get("metricTransformations") or []:
        if isinstance(t, dict) and t.get("metricName"):
            b.signal("metric", f"{t.get('metricNamespace') or ''}/{t['metricName']}", confidence=0.0)
    recorded, conditions = _read_filter_pattern(pattern)
    recorded.replay(b)
    return b.build({"filter_pattern": pattern, **conditions,
                    "metric_transformations": api_object.get("metricTransformations") or []})


@functools.lru_cache(maxsize=16_384)
def _read_filter_pattern(pattern: str) -> tuple[Recorder, dict[str, Any]]:
    """Cached per pattern text (see Recorder); the conditions returned are shared: never mutate them."""
    recorded = Recorder()
    return recorded, apply_filter_pattern(recorded, pattern)


def apply_filter_pattern(b: Builder, pattern: str) -> dict[str, Any]:
    """Signals of one filter pattern into `b`; returns the trigger_conditions part."""
    if not pattern.strip():
        b.doubt("empty filter pattern matches every log event", 0.0)
        return {"syntax": "empty"}
    if not filter_pattern.is_json_pattern(pattern):
        # Space-delimited ([ip, user, ...]) and term patterns ("ERROR") match text, not CloudTrail fields
        b.signal("log_pattern", filter_pattern.normalise_text_pattern(pattern), confidence=TEXT)
        b.doubt("text or space-delimited filter pattern: matched as text only", TEXT)
        return {"syntax": "text"}
    try:
        tree = filter_pattern.parse_json_pattern(pattern)
    except filter_pattern.FilterSyntaxError as e:
        b.signal("log_pattern", filter_pattern.normalise_text_pattern(pattern), confidence=TEXT)
        b.doubt(f"unparseable filter pattern: {e}", TEXT)
        return {"syntax": "invalid", "error": str(e)}
    apply_leaves(b, filter_pattern.leaves(tree))
    return {"syntax": "json", "tree": tree}


def apply_leaves(b: Builder, leaves: list[dict[str, Any]]) -> None:
    """eventSource/eventName equalities become API signals, every other comparison a condition."""
    sources, names = [], []
    for leaf in leaves:
        field, cmp, value, kind = leaf["field"], leaf["cmp"], leaf["value"], leaf["kind"]
        if kind == "regex":
            b.doubt(f"regular expression on {field}", TEXT)
        if field == "eventSource" and cmp == "=" and kind == "string":
            sources.append(value)
        elif field == "eventName" and cmp == "=" and kind in ("string", "wildcard"):
            name = wildcard_name(value)
            if name is None:
                b.doubt(f"wildcard {value!r} on eventName is not a prefix", TEXT)
                continue
            if name[1] == "prefix":
                b.doubt(f"eventName prefix {value!r}", PREFIX)
            names.append(name)
        elif field in ("eventSource", "eventName") and cmp == "=":
            b.doubt(f"{field} matched by {kind} {value!r}", TEXT)
        else:
            add_condition(b, field, cmp, value)
    add_api_calls(b, sources, names)


def logs_insights_query(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    """Best effort: the comparisons of `filter` commands, read with the KQL/EQL scanner."""
    b = Builder()
    text = str(api_object.get("queryString") or "")
    for group in api_object.get("logGroupNames") or []:
        b.entity("log_groups", group)
    scan = query_scan.scan(text)
    query_scan.apply(b, scan, field_names={"eventSource": "eventSource", "eventName": "eventName"})
    b.doubt("Logs Insights query read by a best-effort scanner", 0.8)
    return b.build({"query": text, "comparisons": scan.as_json()})


def metric_alarm(api_object: dict[str, Any], related: dict[str, Any]) -> ParsedLogic:
    """An alarm watches a metric; what the metric means comes from the filter dbt links it to."""
    b = Builder()
    namespace, metric = api_object.get("Namespace") or "", api_object.get("MetricName")
    if metric:
        b.signal("metric", f"{namespace}/{metric}", confidence=0.5)
    else:
        # Metric-math alarms name their metrics inside Metrics[]
        for m in api_object.get("Metrics") or []:
            stat = (m.get("MetricStat") or {}).get("Metric") or {} if isinstance(m, dict) else {}
            if stat.get("MetricName"):
                b.signal("metric", f"{stat.get('Namespace') or ''}/{stat['MetricName']}", confidence=0.4)
        b.doubt("metric math alarm", 0.4)
    cmp, threshold = api_object.get("ComparisonOperator"), api_object.get("Threshold")
    if cmp is not None:
        b.signal("condition", f"{cmp} {threshold}", confidence=0.0)
    for d in api_object.get("Dimensions") or []:
        if isinstance(d, dict):
            b.entity("resources", f"{d.get('Name')}={d.get('Value')}")
    actions = [a for a in api_object.get("AlarmActions") or [] if isinstance(a, str)]
    if api_object.get("ActionsEnabled") is False:
        b.note("alarm actions disabled")
    if not actions:
        b.note("alarm has no actions")
    return b.build({"metric": metric, "namespace": namespace, "statistic": api_object.get("Statistic"),
                    "comparison": cmp, "threshold": threshold,
                    "evaluation_periods": api_object.get("EvaluationPeriods"),
                    "period": api_object.get("Period")}, actions=actions)
