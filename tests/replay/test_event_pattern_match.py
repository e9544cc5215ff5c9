"""EventBridge event patterns: AWS's documented examples, CloudTrail envelopes, and candidate keys."""

from __future__ import annotations

import json
import random
import time

import pytest

from dagster_project.lib.replay.event_pattern_match import (
    PatternError,
    compile_event_pattern,
    eventbridge_envelope,
    record_keys,
)

# The sample event of AWS's event-ruler README and the EventBridge user guide's content-filtering page
EC2_EVENT = {
    "version": "0", "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "012345679012",
    "time": "2017-10-02T16:24:49Z", "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
               "instance-id": "i-000000aaaaaa00000", "state": "running"},
}


def _m(pattern, event=EC2_EVENT) -> bool:
    return compile_event_pattern(pattern).matches(event)


@pytest.mark.parametrize("pattern", [
    {"detail-type": ["EC2 Instance State-change Notification"],
     "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
     "detail": {"state": ["initializing", "running"]}},
    {"time": [{"prefix": "2017-10-02"}]},
    {"source": [{"suffix": "ec2"}]},
    {"source": [{"equals-ignore-case": "AWS.EC2"}]},
    {"detail": {"state": [{"anything-but": "initializing"}]}},
    {"detail": {"x-limit": [{"anything-but": 123}]}},
    {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
    {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
    {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
    {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}]}},
    {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}},
    {"detail": {"c-count": [{"exists": True}]}},
    {"detail": {"e-count": [{"exists": False}]}},
    {"time": [{"prefix": "2017-10-02"}],
     "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}]}},
    {"source": ["aws.ec2"], "$or": [{"detail": {"state": ["stopped"]}}, {"detail": {"c-count": [5]}}]},
    {"source": [{"wildcard": "aws.*2"}]},
])
def test_documented_examples_match_the_sample_event(pattern):
    assert _m(pattern)


@pytest.mark.parametrize("pattern", [
    {"detail": {"state": ["Running"]}},  # case-sensitive
    {"source": [{"prefix": "AWS."}]},
    {"detail": {"state": [{"anything-but": "running"}]}},
    {"detail": {"state": [{"anything-but": {"prefix": "run"}}]}},
    {"detail": {"state": [{"anything-but": {"suffix": "ing"}}]}},
    {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["STOPPED", "RUNNING"]}}]}},
    {"detail": {"state": [{"anything-but": {"wildcard": "r*g"}}]}},
    {"detail": {"c-count": [{"numeric": [">", 5]}]}},
    {"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}},
    {"detail": {"c-count": [{"exists": False}]}},
    {"detail": {"e-count": [{"exists": True}]}},
    {"detail": {"c-count": ["5"]}},  # a string never equals a number
    {"detail": {"state": [{"numeric": [">", 0]}]}},  # numeric only matches numbers
    {"$or": [{"detail": {"state": ["stopped"]}}, {"source": ["aws.s3"]}]},
    {"source": [{"wildcard": "aws.*3"}]},
])
def test_documented_operators_reject_what_they_should(pattern):
    assert not _m(pattern)


def test_exists_only_sees_leaves():
    """EventBridge guide: `exists: false` also matches when the field is an object (not a leaf)."""
    pattern = {"detail": {"c-count": [{"exists": False}]}}
    assert _m(pattern, {"detail": {"state": ["initializing", "running"]}})
    assert _m(pattern, {"detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}})
    assert not _m({"detail": {"c-count": [{"exists": True}]}}, {"detail": {"c-count": {"c1": 100}}})
    assert not _m({"detail": {"c-count": [{"exists": True}]}}, {"detail": {"c-count": []}})


def test_null_and_empty_string_values():
    """EventBridge guide, "Matching null values and empty strings"."""
    event = {"detail": {"responseElements": None, "errorCode": "", "x": 0}}
    assert _m({"detail": {"responseElements": [None]}}, event)
    assert _m({"detail": {"errorCode": [""]}}, event)
    assert not _m({"detail": {"errorCode": [None]}}, event)
    assert not _m({"detail": {"responseElements": [""]}}, event)
    assert _m({"detail": {"responseElements": [{"exists": True}]}}, event)
    assert not _m({"detail": {"x": [False]}}, event)  # 0 is not false
    assert not _m({"detail": {"missing": [None]}}, event)  # absent is not null


def test_arrays_match_any_element_and_stay_consistent():
    """event-ruler README, "JSON Array Matching": fields must come from the same array element."""
    event = {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"},
                           {"firstName": "Peter", "lastName": "Jones"}]}
    assert _m({"employees": {"firstName": ["Anna"]}}, event)
    assert _m({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, event)
    assert not _m({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, event)
    nested = {"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]}
    assert _m({"employees": {"firstName": ["Peter"]}}, nested)
    assert _m({"tags": ["b", "z"]}, {"tags": ["a", "b"]})  # intersection of the two arrays
    assert not _m({"tags": ["c"]}, {"tags": ["a", "b"]})
    assert _m({"tags": [{"anything-but": "a"}]}, {"tags": ["a", "b"]})  # "b" is not "a"
    assert not _m({"tags": [{"anything-but": ["a", "b"]}]}, {"tags": ["a", "b"]})


def test_numbers_match_by_value_and_keep_their_type():
    assert _m({"n": [300]}, {"n": 300.0})
    assert _m({"n": [3.0e2]}, {"n": 300})
    assert not _m({"n": [1]}, {"n": True})
    assert not _m({"n": [True]}, {"n": 1})
    assert _m({"n": [{"anything-but": [1, 2]}]}, {"n": "1"})  # a string is anything but the number 1
    assert _m({"n": [{"numeric": [">=", -1.5, "<", 0]}]}, {"n": -1.5})
    assert not _m({"n": [{"numeric": [">=", -1.5, "<", 0]}]}, {"n": 0})
    assert not _m({"n": [{"numeric": [">", 0]}]}, {"n": 6e9})  # beyond what event-ruler can compare
    assert _m({"n": [{"numeric": [">", 0]}]}, {"n": 5e9})


def test_prefix_and_suffix_ignore_case_and_wildcard_escapes():
    assert _m({"f": [{"prefix": {"equals-ignore-case": "EVENTB"}}]}, {"f": "EventBridge"})
    assert _m({"f": [{"suffix": {"equals-ignore-case": "TBRIDGE"}}]}, {"f": "EventBridge"})
    assert _m({"f": [{"wildcard": "*/lib/*"}]}, {"f": "/usr/lib/x.so"})
    assert _m({"f": [{"wildcard": "a\\*b"}]}, {"f": "a*b"})
    assert not _m({"f": [{"wildcard": "a\\*b"}]}, {"f": "axxb"})
    assert _m({"f": [{"anything-but": {"wildcard": ["*/lib/*", "*.png"]}}]}, {"f": "/usr/bin/x"})
    assert not _m({"f": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}, {"f": "eu-west-1"})
    assert _m({"f": [{"cidr": "2001:db8::/32"}]}, {"f": "2001:db8::1"})
    assert not _m({"f": [{"cidr": "2001:db8::/32"}]}, {"f": "10.0.0.1"})


def test_wildcards_never_backtrack():
    """A wildcard of many stars against a long value: linear, where a regular expression takes exponential time."""
    matcher = compile_event_pattern({"f": [{"wildcard": "*a" * 40 + "*b"}]})
    start = time.perf_counter()
    assert not matcher.matches({"f": "a" * 20_000})
    assert matcher.matches({"f": "a" * 20_000 + "b"})
    assert time.perf_counter() - start < 1
    assert _m({"f": [{"wildcard": "ab*ba"}]}, {"f": "aba"}) is False  # prefix and suffix may not overlap
    assert _m({"f": [{"wildcard": "ab*ba"}]}, {"f": "abba"})
    assert _m({"f": [{"wildcard": "*"}]}, {"f": ""})


def test_or_nests_inside_objects():
    """event-ruler README, "Nested Or and And"."""
    pattern = {"source": ["aws.cloudwatch"], "$or": [
        {"metricName": ["CPUUtilization", "ReadLatency"]},
        {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"],
         "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
        {"scope": ["Service"]}]}
    base = {"source": "aws.cloudwatch"}
    assert _m(pattern, {**base, "scope": "Service"})
    assert _m(pattern, {**base, "metricType": "MetricType", "namespace": "AWS/ES", "spaceId": 1000})
    assert not _m(pattern, {**base, "metricType": "MetricType", "namespace": "AWS/ES", "spaceId": 999})
    assert not _m(pattern, {"source": "aws.ec2", "scope": "Service"})


@pytest.mark.parametrize(("pattern", "reason"), [
    ("{not json", "not valid JSON"),
    ("[]", "JSON object"),
    ("{}", "empty"),
    ({"source": "aws.iam"}, "object or an array"),
    ({"source": []}, "empty arrays"),
    ({"detail": {}}, "empty objects"),
    ({"source": [{"regex": "x"}]}, "unrecognized match type 'regex'"),
    ({"source": [{"prefix": "a", "suffix": "b"}]}, "exactly one key"),
    ({"n": [{"numeric": [">", "5"]}]}, "needs a number"),
    ({"n": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound then an upper bound"),
    ({"n": [{"numeric": ["~", 5]}]}, "not one of"),
    ({"n": [{"numeric": [">", 6e9]}]}, "outside -5e9..5e9"),
    ({"n": [{"numeric": ["<", 0.1234567]}]}, "more than six decimals"),
    ({"n": [{"anything-but": [1, 1e10]}]}, "outside -5e9..5e9"),
    ({"n": [{"exists": "yes"}]}, "true or false"),
    ({"n": [{"cidr": "10.0.0.300/8"}]}, "not an IP network"),
    ({"n": [{"wildcard": "a**b"}]}, "consecutive"),
    ({"n": [{"wildcard": "a\\b"}]}, "backslash"),
    ({"n": [{"anything-but": ["a", 1]}]}, "strings or numbers"),
    ({"n": [{"anything-but": {"numeric": [">", 1]}}]}, "does not accept 'numeric'"),
    ({"$or": [{"a": ["x"]}, "b"]}, "$or takes"),
    ({"$or": [{"a": ["x"]}]}, "at least two objects"),
    ({"n": [{"anything-but": {"prefix": ""}}]}, "must not be empty"),
    ({"n": [{"prefix": 5}]}, "prefix must be given a string"),
])
def test_invalid_patterns_name_the_problem(pattern, reason):
    with pytest.raises(PatternError, match=__import__("re").escape(reason)):
        compile_event_pattern(pattern)


def test_large_and_deep_patterns_compile_in_linear_time():
    names = [f"Name{i}" for i in range(400_000)]  # ~6 MB of JSON
    big = json.dumps({"detail": {"eventName": names}})
    start = time.perf_counter()
    matcher = compile_event_pattern(big)
    assert time.perf_counter() - start < 10
    assert matcher.matches({"detail": {"eventName": "Name399999"}})
    deep = '{"a":' * 200_000 + '["x"]' + "}" * 200_000
    with pytest.raises(PatternError, match="nests too deeply"):
        compile_event_pattern(deep)


# -------------------------------------------------------------------------------------- CloudTrail envelope

CREATE_USER = {
    "eventVersion": "1.08", "eventTime": "2024-05-01T12:00:00Z", "eventSource": "iam.amazonaws.com",
    "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
    "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "userName": "alice"},
    "requestParameters": {"userName": "backdoor"}, "eventType": "AwsApiCall", "eventID": "e-1",
    "recipientAccountId": "111122223333",
}
CONSOLE_LOGIN = {
    "eventTime": "2024-05-01T12:00:00Z", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
    "awsRegion": "us-east-1", "userIdentity": {"type": "Root", "accountId": "111122223333"},
    "eventType": "AwsConsoleSignIn", "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {"MFAUsed": "No"}, "recipientAccountId": "111122223333",
}


def test_envelope_is_what_eventbridge_delivers():
    env = eventbridge_envelope(CREATE_USER)
    assert env["source"] == "aws.iam"
    assert env["detail-type"] == "AWS API Call via CloudTrail"
    assert env["detail"] is CREATE_USER
    assert (env["account"], env["region"], env["time"]) == ("111122223333", "us-east-1", "2024-05-01T12:00:00Z")
    assert eventbridge_envelope(CREATE_USER, account="999", region="eu-west-1")["account"] == "999"
    login = eventbridge_envelope(CONSOLE_LOGIN)
    assert (login["source"], login["detail-type"]) == ("aws.signin", "AWS Console Sign In via CloudTrail")
    assert eventbridge_envelope({"eventSource": "monitoring.amazonaws.com"})["source"] == "aws.cloudwatch"


def test_typical_detection_rules_on_cloudtrail_records():
    create_user = compile_event_pattern({
        "source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["CreateUser", "CreateAccessKey"]}})
    assert create_user.matches(eventbridge_envelope(CREATE_USER))
    assert not create_user.matches(eventbridge_envelope({**CREATE_USER, "eventName": "GetUser"}))
    root_login = compile_event_pattern({
        "detail-type": ["AWS Console Sign In via CloudTrail"],
        "detail": {"userIdentity": {"type": ["Root"]}, "responseElements": {"ConsoleLogin": ["Success"]}}})
    assert root_login.matches(eventbridge_envelope(CONSOLE_LOGIN))
    assert not root_login.matches(eventbridge_envelope(CREATE_USER))
    outside = compile_event_pattern({"detail": {"sourceIPAddress": [{"anything-but": {"prefix": "10."}}],
                                                "userIdentity": {"type": [{"anything-but": "AWSService"}]}}})
    assert outside.matches(eventbridge_envelope(CREATE_USER))


# -------------------------------------------------------------------------------------- candidate keys

def test_candidate_keys_from_source_and_event_name():
    keys = compile_event_pattern({"source": ["aws.iam"], "detail": {"eventName": ["CreateUser"]}}).candidate_keys
    assert ("iam.amazonaws.com", "CreateUser") in keys
    assert all(name == "CreateUser" and source.startswith("iam") for source, name in keys)
    assert compile_event_pattern({"source": ["aws.iam"]}).candidate_keys >= {("iam.amazonaws.com", None)}
    assert compile_event_pattern({"detail": {"eventName": ["A", "B"]}}).candidate_keys == {(None, "A"), (None, "B")}
    assert compile_event_pattern({"detail": {"eventName": [{"prefix": "Create"}]}}).candidate_keys == {(None, None)}
    assert compile_event_pattern({"account": ["1"]}).candidate_keys == {(None, None)}
    both = compile_event_pattern({"source": ["aws.iam"], "detail": {"eventSource": ["s3.amazonaws.com"]}})
    assert both.candidate_keys == frozenset()  # can never match a CloudTrail record
    assert ("signin.amazonaws.com", None) in compile_event_pattern({"source": ["aws.signin"]}).candidate_keys
    alternatives = compile_event_pattern({"$or": [{"source": ["aws.s3"]},
                                                  {"detail": {"eventName": ["AssumeRole"]}}]}).candidate_keys
    assert ("s3.amazonaws.com", None) in alternatives and (None, "AssumeRole") in alternatives


SOURCES = ["iam.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com",
           "monitoring.amazonaws.com", "console.amazonaws.com"]
NAMES = ["CreateUser", "DeleteBucket", "AssumeRole", "ConsoleLogin", "PutMetricData", "GetUser"]


def _random_leaf(rng: random.Random, pool: list[str]) -> list:
    choice = rng.random()
    if choice < 0.5:
        return rng.sample(pool, rng.randint(1, 3))
    ops = [{"prefix": rng.choice(pool)[:3]}, {"anything-but": rng.choice(pool)}, {"exists": rng.random() < 0.5},
           {"suffix": rng.choice(pool)[-4:]}, {"wildcard": "*" + rng.choice(pool)[2:5] + "*"},
           {"equals-ignore-case": rng.choice(pool).upper()}]
    return [rng.choice(ops)] + (rng.sample(pool, 1) if rng.random() < 0.3 else [])


def _random_pattern(rng: random.Random) -> dict:
    def body() -> dict:
        pattern: dict = {}
        if rng.random() < 0.6:
            pattern["source"] = _random_leaf(rng, ["aws." + s.split(".")[0] for s in SOURCES] + ["aws.cloudwatch"])
        detail: dict = {}
        if rng.random() < 0.4:
            detail["eventSource"] = _random_leaf(rng, SOURCES)
        if rng.random() < 0.7:
            detail["eventName"] = _random_leaf(rng, NAMES)
        if rng.random() < 0.3:
            detail["$or"] = [{"eventName": _random_leaf(rng, NAMES)}, {"eventSource": _random_leaf(rng, SOURCES)}]
        if detail:
            pattern["detail"] = detail
        return pattern or {"region": ["us-east-1"]}
    pattern = body()
    if rng.random() < 0.25:
        pattern["$or"] = [body(), body()]
    return pattern


def test_candidate_keys_never_exclude_a_matching_record():
    """Soundness: whenever a pattern matches a record, the record's lookup keys meet its candidate keys."""
    rng = random.Random(32)
    records = [{"eventSource": s, "eventName": n, "awsRegion": "us-east-1", "eventType": "AwsApiCall"}
               for s in SOURCES for n in NAMES]
    checked = 0
    for _ in range(1500):
        matcher = compile_event_pattern(_random_pattern(rng))
        for record in records:
            if matcher.matches(eventbridge_envelope(record)):
                checked += 1
                assert set(record_keys(record["eventSource"], record["eventName"])) & matcher.candidate_keys, (
                    matcher, record)
    assert checked > 1000  # the generator reaches matching pairs, so the property is exercised
