"""parse(): dispatch, robustness (never raises), versioning, throughput on synthetic CIS filters."""

import json
import time

import pytest

from dagster_project.lib import parsing
from dagster_project.lib.parsing import PARSER_VERSION, PARSERS, ParsedLogic, parse

DETECTION_TYPES = {"metric_filter", "logs_insights_query", "metric_alarm", "event_rule", "guardduty_detector",
                   "securityhub_standard", "securityhub_control", "config_rule", "sigma_rule", "elastic_rule",
                   "log_metric", "alert_policy", "scc_service", "activity_log_alert", "scheduled_query_rule",
                   "sentinel_rule", "defender_plan"}


def test_every_detection_type_has_a_parser():
    assert set(PARSERS) == DETECTION_TYPES
    assert PARSER_VERSION and isinstance(PARSER_VERSION, str)


def test_unknown_type_is_confidence_zero_with_reason():
    logic = parse("waf_rule", {"api_object": {"x": 1}, "related": {}})
    assert logic == ParsedLogic(parse_confidence=0.0, reason="no parser for detection type 'waf_rule'")


GARBAGE = [None, 1, "text", [], {}, {"api_object": None}, {"api_object": "x"}, {"api_object": []},
           {"api_object": {"filterPattern": 5, "EventPattern": 5, "detection": [], "rule": "x", "Status": [],
                           "Features": "x", "Source": "x", "metricTransformations": "x",
                           "queryString": 7, "AlarmActions": [None, 1]}, "related": {"targets": "x"}},
           {"api_object": {"detection": {"condition": 3, "sel": 5}, "logsource": "x"}},
           {"api_object": {"rule": {"query": "event.action:(", "language": "kuery"}}},
           {"api_object": {"rule": {"query": ")))", "language": "eql"}}},
           {"api_object": {"EventPattern": json.dumps({"detail": {"eventName": [{}, None, {"numeric": []}]}})}}]


@pytest.mark.parametrize("detection_type", sorted(DETECTION_TYPES))
def test_garbage_never_raises(detection_type):
    for document in GARBAGE:
        logic = parse(detection_type, document)
        assert 0.0 <= logic.parse_confidence <= 1.0
        assert logic.severity in (None, "critical", "high", "medium", "low", "info")
        for s in logic.signals:
            assert s.value and s.signal_type == s.signal_type.lower()


def test_parser_bug_becomes_low_confidence(monkeypatch):
    def broken(api_object, related):
        raise KeyError("boom")

    monkeypatch.setitem(parsing.PARSERS, "metric_filter", broken)
    logic = parse("metric_filter", {"api_object": {}, "related": {}})
    assert logic.parse_confidence == 0.0 and "KeyError" in logic.reason


def test_output_is_json_serialisable_and_deterministic():
    doc = {"api_object": {"filterPattern": "{ ($.eventName = StopLogging) && ($.userIdentity.type = Root) }",
                          "metricTransformations": [{"metricName": "m", "metricNamespace": "n"}]}}
    first, second = parse("metric_filter", doc), parse("metric_filter", doc)
    assert first == second
    json.dumps([first.monitored_entities, first.trigger_conditions, first.actions])


def test_synthetic_cis_filter_throughput(capsys):
    names = ["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging", "PutBucketPolicy",
             "AuthorizeSecurityGroupIngress", "CreateNetworkAcl", "DisableKey", "ConsoleLogin"]
    docs = []
    for i in range(5_000):
        picked = [names[(i + k) % len(names)] for k in range(1 + i % 6)]
        pattern = "{ " + " || ".join(f"($.eventName = {n})" for n in picked) + f" && ($.errorCode = E{i}) }}"
        docs.append({"api_object": {"filterPattern": pattern, "metricTransformations": [
            {"metricName": f"m{i}", "metricNamespace": "CISBenchmark"}]}, "related": {}})
    started = time.perf_counter()
    parsed = [parse("metric_filter", d) for d in docs]
    rate = len(docs) / (time.perf_counter() - started)
    with capsys.disabled():
        print(f"\nsynthetic CIS filter throughput: {len(docs)} filters, {rate:,.0f} filters/s")
    assert all(p.parse_confidence >= 0.5 for p in parsed)
    assert rate > 500
