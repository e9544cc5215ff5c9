"""The replay engine without a database: which configurations carry a pattern, the candidate index, and that a
record is tested only against the patterns its event keys can match."""

import json

from dagster_project.lib.replay import engine


def rec(source, name, seq=1, ordinal=0, scenario="s", **extra):
    record = {"eventSource": source, "eventName": name, "awsRegion": "us-east-1",
              "eventTime": "2026-01-01T00:00:00Z", "recipientAccountId": "111111111111", **extra}
    return engine.ReplayRecord(scenario, seq, ordinal, source, name, record)


def rule(pattern, bus="default"):
    return {"api_object": {"Name": "r", "EventBusName": bus, "EventPattern": json.dumps(pattern)}}


def test_only_patterns_cloudtrail_can_reach_are_replayed():
    iam = {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"]}
    matcher, pattern, note = engine.pattern_of("event_rule", rule(iam))
    assert matcher == "event_pattern" and json.loads(pattern) == iam and note is None
    # the same pattern spelled differently is one pattern
    spaced = {"api_object": {"EventPattern": '{ "detail-type": ["AWS API Call via CloudTrail"], "source": ["aws.iam"] }'}}
    assert engine.pattern_of("event_rule", spaced)[1] == pattern
    assert "default bus only" in engine.pattern_of("event_rule", rule(iam, bus="security"))[2]
    assert engine.pattern_of("event_rule", rule(iam, bus="arn:aws:events:us-east-1:1:event-bus/default"))[2] is None
    assert "GuardDuty Finding events" in engine.pattern_of(
        "event_rule", rule({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}))[2]
    assert "scheduled rule" in engine.pattern_of("event_rule", {"api_object": {"ScheduleExpression": "rate(1 day)"}})[2]
    assert engine.pattern_of("metric_filter", {"api_object": {"filterPattern": ""}}) == ("filter_pattern", "", None)
    assert "not replayable" in engine.pattern_of("guardduty_detector", {"api_object": {}})[2]


def test_candidate_index_files_items_under_their_keys():
    index = engine.CandidateIndex()
    index.add("pair", [("iam.amazonaws.com", "CreateUser")])
    index.add("source", [("iam.amazonaws.com", None)])
    index.add("name", [(None, "CreateUser"), (None, "DeleteUser")])
    index.add("any", [(None, None)])
    index.add("both", [("iam.amazonaws.com", "CreateUser"), ("iam.amazonaws.com", None)])
    assert sorted(index.candidates("iam.amazonaws.com", "CreateUser")) == ["any", "both", "name", "pair", "source"]
    assert sorted(index.candidates("iam.amazonaws.com", "ListUsers")) == ["any", "both", "source"]
    assert index.candidates("ec2.amazonaws.com", "RunInstances") == ["any"]


def test_replay_tests_only_candidates_and_only_records_newer_than_the_pattern_has_seen():
    stop = engine.Compiled("event_pattern", json.dumps({"detail": {"eventName": ["StopLogging"]}}))
    keys = engine.Compiled("filter_pattern", '{ $.eventSource = "iam.amazonaws.com" }')
    anything = engine.Compiled("filter_pattern", "")
    records = [rec("cloudtrail.amazonaws.com", "StopLogging", seq=1, scenario="trail"),
               rec("iam.amazonaws.com", "CreateUser", seq=1, scenario="iam"),
               rec("iam.amazonaws.com", "CreateAccessKey", seq=2, ordinal=1, scenario="iam2"),
               rec("ec2.amazonaws.com", "RunInstances", seq=2, scenario="ec2")]
    fired, tests = engine.replay({"stop": (stop, 0), "iam": (keys, 0), "any": (anything, 1)}, records)
    assert fired == {"stop": {"trail": [0]}, "iam": {"iam": [0], "iam2": [1]}, "any": {"iam2": [1], "ec2": [0]}}
    # stop is tested on the StopLogging record alone, iam on the two IAM records, `any` on the two records
    # loaded after its mark: 5 tests, not 3 patterns x 4 records
    assert tests == 5
