"""CloudWatch Logs filter patterns: the CloudWatch Logs guide's examples, CIS metric filters on CloudTrail."""

from __future__ import annotations

import random
import re
import time

import pytest

from dagster_project.lib.replay.event_pattern_match import record_keys
from dagster_project.lib.replay.filter_pattern_match import PatternError, compile_filter_pattern, log_line

# The CloudWatch Logs guide's JSON example ("JSON Metric Filter Examples")
DOC_EVENT = {
    "eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None, "ThisFlag": True,
}
# ... and its compound-conditions example
COMPOUND_EVENT = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}


def _m(pattern: str, record: dict, raw: str | None = None) -> bool:
    return compile_filter_pattern(pattern).matches(record, raw)


@pytest.mark.parametrize("pattern", [
    '{ $.eventType = "UpdateTrail" }',
    "{ $.sourceIPAddress != 123.123.* }",
    '{ $.arrayKey[0] = "value" }',
    "{ $.objectList[1].id = 2 }",
    "{ $.SomeObject IS NULL }",
    "{ $.SomeOtherObject NOT EXISTS }",
    "{ $.ThisFlag IS TRUE }",
    "{ $.eventType = Update* }",
    "{ $.eventType = *Trail }",
    "{ $.eventType = *dateTr* }",
    "{ $.sourceIPAddress = * }",
    "{ $.eventType = %Up.*Trail% }",
])
def test_documented_json_examples_match(pattern):
    assert _m(pattern, DOC_EVENT)


@pytest.mark.parametrize("pattern", [
    '{ $.eventType = "updatetrail" }',  # case-sensitive
    "{ $.sourceIPAddress != 111.111.* }",
    "{ $.objectList[2].id = 2 }",  # no third element
    "{ $.ThisFlag IS FALSE }",
    "{ $.SomeObject NOT EXISTS }",  # present, though null
    "{ $.eventType IS NULL }",
    "{ $.missing IS NULL }",
    "{ $.eventType = Up*Trail }",  # a star inside a value is a literal star
    "{ $.arrayKey = value }",  # a selector on an array is not applied...
    "{ $.arrayKey != value }",  # ...whatever the operator
    "{ $.missing != x }",  # nor on a field that is not there
])
def test_documented_json_examples_do_not_match(pattern):
    assert not _m(pattern, DOC_EVENT)


def test_documented_compound_conditions():
    assert _m('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', COMPOUND_EVENT)
    assert not _m('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', COMPOUND_EVENT)
    assert _m('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch '
              "&& $.actions[2] = nomatch }", COMPOUND_EVENT)
    assert not _m('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) '
                  "&& $.actions[2] = nomatch }", COMPOUND_EVENT)
    assert _m("{ $.coordinates[2][0] = 7 }", COMPOUND_EVENT)
    assert not _m("{ $.users = 1 }", {"users": [1, 2, 3]})
    assert not _m("{ $.users != 1 }", {"users": [1, 2, 3]})


@pytest.mark.parametrize(("pattern", "expected"), [
    ("{ $.latency >= 500 }", True), ("{ $.numbers[0] < 10e3 }", True), ("{ $.numbers[0] < 10e-3 }", False),
    ("{ $.processes[4].averageRuntime <= 55.5 }", True), ("{ $.errorCode = 400 }", True),
    ("{ $.errorCode != 500 }", True), ("{ $.latency > +1000 }", False), ("{ $.latency = 500.0 }", True),
    ("{ $.name > 1 }", False),  # numeric comparisons only apply to numbers
    ("{ $.code = 404 }", True),  # a number written as text still equals its text
])
def test_documented_numeric_comparisons(pattern, expected):
    record = {"latency": 500, "numbers": [7], "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}],
              "errorCode": 400, "name": "5", "code": "404"}
    assert _m(pattern, record) is expected


def test_terms_match_the_raw_text_case_sensitively():
    """The guide's "Matching terms" and "OR pattern matching" examples."""
    fatal, exiting = "[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"
    assert _m("ERROR", {}, fatal) and _m("ERROR", {}, exiting)
    assert not _m("error", {}, fatal)
    assert _m('"ERROR" - "Exiting"', {}, fatal) and not _m('"ERROR" - "Exiting"', {}, exiting)
    assert _m("ERROR -Exiting", {}, fatal) and not _m("ERROR -Exiting", {}, exiting)
    assert _m("ERROR Exception", {}, "[ERROR] Caught IllegalArgumentException")
    assert not _m("ERROR Exception", {}, "[ERROR] Caught it")
    logs = ["ERROR WARN message", "ERROR message", "WARN message"]
    assert [_m("ERROR", {}, x) for x in logs] == [True, True, False]
    assert [_m("?ERROR ?WARN", {}, x) for x in logs] == [True, True, True]
    assert [_m("ERROR WARN", {}, x) for x in logs] == [True, False, False]
    assert [_m("ERROR -WARN", {}, x) for x in logs] == [False, True, False]
    assert _m('"Failed to process the request"', {}, "[WARN] Failed to process the request")
    assert not _m('"Failed to process the request"', {}, "[WARN] Failed to process a request")
    assert _m("%AUTHORIZED%", {}, "[SUCCESS 200] AUTHORIZED REQUEST")
    assert _m("%^\\[ERROR%", {}, fatal) and not _m("%^ERROR%", {}, fatal)


def test_documented_regex_examples():
    """The CloudWatch Logs guide's "Supported regular expressions" examples."""
    assert _m(r"%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%", {}, "from 10.0.12.7 denied")
    assert _m("%[Ee]rror|[Ff]ail%", {}, "Task failed") and not _m("%[Ee]rror|[Ff]ail%", {}, "ok")
    assert _m("%^[hc]at%", {}, "hat trick") and not _m("%^[hc]at%", {}, "a hat")
    assert _m("%[hc]at$%", {}, "a cat") and not _m("%[hc]at$%", {}, "cats")
    assert _m("%colou?r%", {}, "color") and _m("%colou?r%", {}, "colour")
    assert _m("%a{3,5}%", {}, "baaab") and not _m("%a{3,5}%", {}, "baab")
    assert _m("{ $.eventName = %^Delete.*Policy$% }", {"eventName": "DeleteRolePolicy"})


def test_terms_default_to_the_records_json_text():
    record = {"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}
    assert log_line(record) == '{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}'
    assert _m("ConsoleLogin", record)
    assert _m('"\\"type\\":\\"Root\\""', record)
    assert not _m("CreateUser", record)


def test_empty_pattern_matches_everything():
    for pattern in ("", "   "):
        matcher = compile_filter_pattern(pattern)
        assert matcher.matches({}) and matcher.matches({"a": 1}, "anything")
        assert matcher.candidate_keys == {(None, None)}


def test_space_delimited_fields():
    """The guide's space-delimited examples on its Apache log lines."""
    line = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534'
    assert _m("[ip, user, username, timestamp, request, status_code, bytes > 1000]", {}, line)
    assert not _m("[ip, user, username, timestamp, request, status_code = 200, bytes]", {}, line)
    assert _m("[ip, user, username, timestamp, request, status_code = 4*, bytes]", {}, line)
    assert _m("[ip, user, username, timestamp, request = *gif*, status_code = 4*, bytes]", {}, line)
    assert _m("[..., status_code, bytes]", {}, line) and _m("[ip, user, ...]", {}, line)
    assert _m("[ip, ..., status_code = 404, bytes]", {}, line)
    assert not _m("[ip, user, username]", {}, line)  # seven fields, not three
    assert _m("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", {}, line)
    assert _m("[w1=ERROR || w1=WARN, w2]", {}, "WARN message")
    assert _m("[..., status_code = %4[0-9]{2}%, bytes]", {}, line)
    assert not _m("[..., status_code != %4[0-9]{2}%, bytes]", {}, line)
    # the guide's "extracted fields" example: a trailing comma leaves one more, unnamed field
    index = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
    assert _m("[..., request=*.html*, status_code=4*,]", {}, index)
    assert not _m("[..., request=*.html*, status_code=4*]", {}, index)


# CIS AWS Foundations Benchmark metric filters (the same texts tests/parsing/test_filter_pattern.py reads)
ROOT_USAGE = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
              '&& $.eventType != "AwsServiceEvent" }')
NO_MFA = ('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
          '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }')
UNAUTHORIZED = ('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") '
                '&& ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }')


def test_cis_metric_filters_on_cloudtrail_records():
    root = {"eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "eventType": "AwsApiCall",
            "userIdentity": {"type": "Root", "accountId": "111122223333"}}
    assert _m(ROOT_USAGE, root)
    assert not _m(ROOT_USAGE, {**root, "userIdentity": {"type": "Root", "invokedBy": "s3.amazonaws.com"}})
    assert not _m(ROOT_USAGE, {**root, "eventType": "AwsServiceEvent"})
    login = {"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"},
             "additionalEventData": {"MFAUsed": "No"}, "responseElements": {"ConsoleLogin": "Success"}}
    assert _m(NO_MFA, login)
    assert not _m(NO_MFA, {**login, "additionalEventData": {"MFAUsed": "Yes"}})
    denied = {"eventName": "GetObject", "errorCode": "AccessDenied", "sourceIPAddress": "198.51.100.7"}
    assert _m(UNAUTHORIZED, denied)
    assert not _m(UNAUTHORIZED, {**denied, "eventName": "HeadBucket"})
    assert _m(UNAUTHORIZED, {"errorCode": "Client.UnauthorizedOperation", "eventName": "RunInstances"})


def test_candidate_keys():
    keys = compile_filter_pattern("{($.eventSource=iam.amazonaws.com) && (($.eventName=DeleteGroupPolicy)"
                                  "||($.eventName=PutUserPolicy))}").candidate_keys
    assert keys == {("iam.amazonaws.com", "DeleteGroupPolicy"), ("iam.amazonaws.com", "PutUserPolicy")}
    assert compile_filter_pattern(NO_MFA).candidate_keys == {(None, "ConsoleLogin")}
    assert compile_filter_pattern(ROOT_USAGE).candidate_keys == {(None, None)}
    assert compile_filter_pattern("{ $.eventName = Create* }").candidate_keys == {(None, None)}
    assert compile_filter_pattern("{ $.eventName != CreateUser }").candidate_keys == {(None, None)}
    assert compile_filter_pattern("CreateUser").candidate_keys == {(None, None)}
    assert compile_filter_pattern('{ $.eventName = "A" && $.eventName = "B" }').candidate_keys == frozenset()


SOURCES = ["iam.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com"]
NAMES = ["CreateUser", "DeleteBucket", "AssumeRole", "GetUser"]


def _random_condition(rng: random.Random, depth: int = 0) -> str:
    if depth < 2 and rng.random() < 0.4:
        op = rng.choice([" && ", " || "])
        return "(" + op.join(_random_condition(rng, depth + 1) for _ in range(rng.randint(2, 3))) + ")"
    field, pool = rng.choice([("eventSource", SOURCES), ("eventName", NAMES), ("awsRegion", ["us-east-1"])])
    value = rng.choice(pool)
    return rng.choice([f"$.{field} = {value}", f'$.{field} = "{value}"', f"$.{field} != {value}",
                       f"$.{field} = {value[:4]}*", f"$.{field} NOT EXISTS"])


def test_candidate_keys_never_exclude_a_matching_record():
    rng = random.Random(32)
    records = [{"eventSource": s, "eventName": n, "awsRegion": "us-east-1"} for s in SOURCES for n in NAMES]
    checked = 0
    for _ in range(1500):
        matcher = compile_filter_pattern("{ " + _random_condition(rng) + " }")
        for record in records:
            if matcher.matches(record):
                checked += 1
                assert set(record_keys(record["eventSource"], record["eventName"])) & matcher.candidate_keys, (
                    matcher.pattern, record)
    assert checked > 1000


@pytest.mark.parametrize(("pattern", "reason"), [
    ("{ $.a = 1 ", "expected rbrace"),
    ("{ $.a ~ 1 }", "expected op, found '~'"),
    ("{ $.a > abc }", "needs a number"),
    ("{ $.a IS MAYBE }", "unknown test"),
    ("{ $.a = %[% }", "is not valid"),
    ("%something!%", "does not accept '!'"),
    ("%(ab)+%", "does not accept '('"),
    ("[a, b", "must end with"),
    ("[a, b > x]", "needs a number"),
])
def test_invalid_patterns_name_the_problem(pattern, reason):
    with pytest.raises(PatternError, match=re.escape(reason)):
        compile_filter_pattern(pattern)


def test_large_and_deep_patterns_parse_in_linear_time():
    big = "{ " + " || ".join(f"$.eventName = Name{i}" for i in range(100_000)) + " }"  # ~2.3 MB
    start = time.perf_counter()
    matcher = compile_filter_pattern(big)
    assert time.perf_counter() - start < 30
    assert matcher.matches({"eventName": "Name99999"}) and not matcher.matches({"eventName": "Other"})
    assert len(matcher.candidate_keys) == 1  # too many alternatives to index: "any record"
    deep = "{ " + "(" * 100_000 + "$.a = 1" + ")" * 100_000 + " }"
    with pytest.raises(PatternError, match="nests too deeply"):
        compile_filter_pattern(deep)
    words = " ".join(f"term{i}" for i in range(300_000))  # ~3 MB of terms
    start = time.perf_counter()
    assert compile_filter_pattern(words).matches({}, "nothing") is False
    assert time.perf_counter() - start < 30
