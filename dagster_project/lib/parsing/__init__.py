"""Parse a detection's configuration into what it watches, when it fires, and signals a mapper can join on.

Pure Python: no Dagster, no database. `parse(detection_type, document)` never raises: an unknown type or a
malformed document comes back with confidence 0 and a reason, so one bad record never stops a batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dagster_project.lib.parsing import (
    aws_findings,
    azure,
    cloudwatch_filter,
    elastic,
    event_pattern,
    gcp_logging,
    sigma,
)
from dagster_project.lib.parsing.conditions import mark_alternatives, outcome
from dagster_project.lib.parsing.model import ParsedLogic, Signal, failed

# Bump whenever any parser's output changes: the parse asset re-parses every content of an older version.
PARSER_VERSION = "1.2.4"

# The longest pattern or query text parsed. AWS itself accepts far shorter ones (an EventPattern, a metric filter
# pattern or a Logs Insights query is a few KB at most), so a longer text is not a real detection: it is refused
# with its size as the reason rather than parsed for seconds (parsing is linear: ~1 s per MB of EventPattern).
MAX_PATTERN_CHARS = 256 * 1024
PATTERN_FIELDS = {"event_rule": "EventPattern", "metric_filter": "filterPattern",
                  "logs_insights_query": "queryString"}

Parser = Callable[[dict[str, Any], dict[str, Any]], ParsedLogic]

PARSERS: dict[str, Parser] = {
    "metric_filter": cloudwatch_filter.metric_filter,
    "logs_insights_query": cloudwatch_filter.logs_insights_query,
    "metric_alarm": cloudwatch_filter.metric_alarm,
    "event_rule": event_pattern.event_rule,
    "sigma_rule": sigma.sigma_rule,
    "elastic_rule": elastic.elastic_rule,
    "guardduty_detector": aws_findings.guardduty_detector,
    "securityhub_standard": aws_findings.securityhub_standard,
    "securityhub_control": aws_findings.securityhub_control,
    "config_rule": aws_findings.config_rule,
    "log_metric": gcp_logging.log_metric,
    "alert_policy": gcp_logging.alert_policy,
    "scc_service": gcp_logging.scc_service,
    "activity_log_alert": azure.activity_log_alert,
    "scheduled_query_rule": azure.scheduled_query_rule,
    "sentinel_rule": azure.sentinel_rule,
    "defender_plan": azure.defender_plan,
}


def parse(detection_type: str, document: dict[str, Any]) -> ParsedLogic:
    parser = PARSERS.get(detection_type)
    if parser is None:
        return failed(f"no parser for detection type {detection_type!r}")
    if not isinstance(document, dict):
        return failed("document is not a JSON object")
    api_object = document.get("api_object") if "api_object" in document else document
    related = document.get("related") or {}
    if not isinstance(api_object, dict):
        return failed("api_object is not a JSON object")
    field = PATTERN_FIELDS.get(detection_type)
    text = api_object.get(field) if field else None
    if text is not None:
        size = len(text) if isinstance(text, str) else len(json.dumps(text))
        if size > MAX_PATTERN_CHARS:
            return failed(f"{field} not parsed: {size:,} characters, above the limit of {MAX_PATTERN_CHARS:,} "
                          "(docs/reliability.md)")
    try:
        return with_outcome(parser(api_object, related if isinstance(related, dict) else {}))
    except Exception as e:  # a parser bug must cost one record its signals, not the whole batch
        return failed(f"parser error: {type(e).__name__}: {e}")


def with_outcome(logic: ParsedLogic) -> ParsedLogic:
    """What the conditions say together, whatever the query language: an `outcome` signal (and trigger
    condition) when they admit only failed or only successful calls, and alternatives marked `one_of`
    (conditions.mark_alternatives)."""
    signals = mark_alternatives(logic.signals)
    found = outcome(s.value for s in signals if s.signal_type == "condition")
    if found is None:
        return replace(logic, signals=signals)
    return replace(logic, signals=sorted([*signals, Signal("outcome", found)]),
                   trigger_conditions={**logic.trigger_conditions, "outcome": found})


__all__ = ["PARSER_VERSION", "PARSERS", "ParsedLogic", "Signal", "parse"]
