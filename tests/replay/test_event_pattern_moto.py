"""Our event-pattern matcher against moto's, over real boto3 HTTP calls, on many generated patterns and events.

moto's server does not answer `TestEventPattern` (it returns an empty body), so the comparison goes the way
events really flow: one rule per pattern on the default bus, each with its own CloudWatch Logs group as target;
`PutEvents` sends every event, and a pattern matched an event when the event arrived in its group.

The generator stays inside what moto gets right. Left out, each because moto's matcher differs from AWS's
documented behaviour there (our tests in test_event_pattern_match.py pin AWS's behaviour instead):
- fields inside arrays of objects: moto does not look into arrays of objects (`_flatten_dict` stops at lists),
  so `{"resources": {"ARN": [...]}}` never matches there, while EventBridge matches any element;
- empty objects and empty arrays as values: moto counts them as present (`exists: true` matches); they have no
  leaf value in EventBridge, so only `exists: false` matches them;
- numbers against booleans: moto compares with Python's `==`, where `1 == True`, so `[1]` and
  `{"numeric": [">", 0]}` match `true`; EventBridge keeps JSON types apart;
- keys containing dots and arrays nested in arrays: moto flattens on "." and does not flatten nested arrays;
- `cidr` with host bits set (`10.0.0.1/8`): moto's `ip_network` is strict and never matches.
"""

from __future__ import annotations

import json
import random

import boto3
import pytest

from dagster_project.lib.replay.event_pattern_match import compile_event_pattern

N_PATTERNS, N_EVENTS = 150, 40
ACCOUNT, REGION = "123456789012", "us-east-1"

NAMES = ["CreateUser", "CreateAccessKey", "DeleteBucket", "AssumeRole", "ConsoleLogin", "PutBucketPolicy"]
SOURCES = ["iam.amazonaws.com", "s3.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"]
TYPES = ["IAMUser", "Root", "AssumedRole", "AWSService"]
IPS = ["10.0.0.5", "10.0.1.77", "192.168.4.2", "198.51.100.7", "2001:db8::1", "2001:db9::2"]
TAGS = ["prod", "dev", "PROD", "test-1", "test-2"]


def _event(rng: random.Random) -> dict:
    source = rng.choice(SOURCES)
    detail: dict = {"eventSource": source, "eventName": rng.choice(NAMES), "awsRegion": REGION,
                    "userIdentity": {"type": rng.choice(TYPES)}, "readOnly": rng.random() < 0.5}
    if rng.random() < 0.8:
        detail["sourceIPAddress"] = rng.choice(IPS)
    if rng.random() < 0.4:
        detail["errorCode"] = rng.choice(["AccessDenied", "Client.UnauthorizedOperation", ""])
    if rng.random() < 0.6:
        detail["requestParameters"] = {"count": rng.choice([0, 1, 5, 5.5, 12, -3]),
                                       "bucketName": rng.choice(["logs", "Logs-archive", "data.lib.png"])}
    elif rng.random() < 0.5:
        detail["requestParameters"] = None
    if rng.random() < 0.5:
        detail["tags"] = rng.sample(TAGS, rng.randint(1, 3))
    return {"source": "aws." + source.split(".")[0], "detail-type": "AWS API Call via CloudTrail",
            "detail": detail}


def _string_matcher(rng: random.Random, pool: list[str]):
    value = rng.choice(pool)
    return rng.choice([
        value, {"prefix": value[:3]}, {"suffix": value[-3:]}, {"equals-ignore-case": value.swapcase()},
        {"prefix": {"equals-ignore-case": value[:3].upper()}}, {"suffix": {"equals-ignore-case": value[-2:].upper()}},
        {"wildcard": value[:2] + "*" + value[-2:]}, {"wildcard": "*" + value[1:4] + "*"},
        {"anything-but": value}, {"anything-but": rng.sample(pool, 2)}, {"anything-but": {"prefix": value[:4]}},
        {"anything-but": {"suffix": value[-3:]}}, {"anything-but": {"equals-ignore-case": [value.upper()]}},
        {"anything-but": {"wildcard": "*" + value[2:4] + "*"}}, {"exists": rng.random() < 0.5}])


def _number_matcher(rng: random.Random):
    n = rng.choice([0, 1, 5, 5.5, 12, -3])
    return rng.choice([n, {"numeric": [rng.choice(["<", "<=", "=", ">", ">="]), n]},
                       {"numeric": [">", n - 2, "<=", n + 3]}, {"anything-but": [n, 12]},
                       {"anything-but": n}, {"exists": rng.random() < 0.5}])


FIELDS = {
    ("detail", "eventName"): lambda rng: _string_matcher(rng, NAMES),
    ("detail", "eventSource"): lambda rng: _string_matcher(rng, SOURCES),
    ("detail", "userIdentity", "type"): lambda rng: _string_matcher(rng, TYPES),
    ("detail", "errorCode"): lambda rng: rng.choice(["", "AccessDenied", {"prefix": "Client."}, {"exists": False},
                                                     {"suffix": "Denied"}]),
    ("detail", "sourceIPAddress"): lambda rng: rng.choice([
        {"cidr": "10.0.0.0/24"}, {"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}, {"prefix": "10."},
        {"anything-but": {"prefix": "10."}}, {"exists": True}]),
    ("detail", "requestParameters", "count"): _number_matcher,
    ("detail", "requestParameters", "bucketName"): lambda rng: _string_matcher(
        rng, ["logs", "Logs-archive", "data.lib.png"]),
    ("detail", "requestParameters"): lambda rng: rng.choice([None, {"exists": False}, {"exists": True}]),
    ("detail", "readOnly"): lambda rng: rng.choice([True, False, {"exists": True}]),
    ("detail", "tags"): lambda rng: _string_matcher(rng, TAGS),
    ("source",): lambda rng: _string_matcher(rng, ["aws.iam", "aws.s3", "aws.sts", "aws.signin"]),
    ("detail-type",): lambda rng: rng.choice(["AWS API Call via CloudTrail", {"prefix": "AWS API"},
                                              "AWS Console Sign In via CloudTrail"]),
}


def _put(pattern: dict, path: tuple[str, ...], matchers: list) -> bool:
    node = pattern
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return False
    if path[-1] in node:
        return False
    node[path[-1]] = matchers
    return True


def _conjunction(rng: random.Random) -> dict:
    pattern: dict = {}
    for path in rng.sample(list(FIELDS), rng.randint(1, 3)):
        # a field's own sub-fields and the field itself never both (that would be a leaf and an object)
        if any(p != path and (p[:len(path)] == path or path[:len(p)] == p) for p in _paths(pattern)):
            continue
        _put(pattern, path, [FIELDS[path](rng) for _ in range(rng.randint(1, 2))])
    return pattern


def _paths(pattern: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in pattern.items():
        if isinstance(value, dict):
            out.extend(_paths(value, (*prefix, key)))
        elif key != "$or":
            out.append((*prefix, key))
    return out


def _pattern(rng: random.Random) -> dict:
    pattern = _conjunction(rng)
    if rng.random() < 0.25:
        pattern["$or"] = [_conjunction(rng), _conjunction(rng)]
    return pattern


def _delivered(logs, group: str) -> set[str]:
    ids, kwargs = set(), {"logGroupName": group}
    while True:
        page = logs.filter_log_events(**kwargs)
        ids |= {json.loads(e["message"])["id"] for e in page["events"]}
        if not page.get("nextToken") or not page["events"]:
            return ids
        kwargs["nextToken"] = page["nextToken"]


@pytest.fixture
def clients(moto_reset):
    kw = {"endpoint_url": moto_reset, "region_name": REGION}
    return boto3.client("events", **kw), boto3.client("logs", **kw)


def test_generated_patterns_agree_with_moto(clients):
    events_client, logs = clients
    rng = random.Random(20261207)
    patterns = [_pattern(rng) for _ in range(N_PATTERNS)]
    events = [_event(rng) for _ in range(N_EVENTS)]
    for i, pattern in enumerate(patterns):
        group = f"replay-{i}"
        logs.create_log_group(logGroupName=group)
        events_client.put_rule(Name=f"r{i}", EventPattern=json.dumps(pattern), State="ENABLED")
        # only the event's id is delivered: moto's default input transformer costs ~25 ms a delivery
        events_client.put_targets(Rule=f"r{i}", Targets=[
            {"Id": "logs", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}",
             "InputTransformer": {"InputPathsMap": {"id": "$.id"}, "InputTemplate": '{"id": "<id>"}'}}])

    ids: list[str] = []
    for start in range(0, len(events), 10):
        batch = events[start:start + 10]
        reply = events_client.put_events(Entries=[
            {"Source": e["source"], "DetailType": e["detail-type"], "Detail": json.dumps(e["detail"])}
            for e in batch])
        assert reply["FailedEntryCount"] == 0
        ids.extend(entry["EventId"] for entry in reply["Entries"])

    disagreements, matched = [], 0
    for i, pattern in enumerate(patterns):
        moto_says = _delivered(logs, f"replay-{i}")
        matcher = compile_event_pattern(pattern)
        for event_id, event in zip(ids, events, strict=True):
            ours = matcher.matches({**event, "account": ACCOUNT, "region": REGION, "resources": []})
            matched += ours
            if ours != (event_id in moto_says):
                disagreements.append((pattern, event["detail"], ours))
    assert not disagreements, f"{len(disagreements)} disagreements, first: {disagreements[:3]}"
    pairs = N_PATTERNS * N_EVENTS
    assert 0.05 * pairs < matched < 0.95 * pairs, matched  # both outcomes are well exercised
