"""Sigma and Elastic rules, synthetic and real (../shared via the shared_dir fixture)."""

import copy
import time
import tomllib

import pytest
import yaml

from dagster_project.lib.parsing import parse

SIGMA_AWS = "sigma/rules/cloud/aws"
ELASTIC_AWS = "elastic/rules/integrations/aws"
# Measured over the stored corpora (57 Sigma AWS rules: 53 = 93 %; 194 Elastic AWS rules: 177 = 91 %,
# 176 with an api_call); the floors leave room for upstream rule churn, not for parser regressions.
SIGMA_MIN_COVERAGE = 0.88
ELASTIC_MIN_COVERAGE = 0.85


def _signals(logic, types=None):
    return {(s.signal_type, s.value, s.qualifier) for s in logic.signals if types is None or s.signal_type in types}


def _api(logic):
    return any(s.signal_type in ("api_call", "api_call_name") for s in logic.signals)


def _sigma(rule):
    return parse("sigma_rule", {"api_object": rule, "related": {}})


def _elastic(doc):
    return parse("elastic_rule", {"api_object": doc, "related": {}})


@pytest.fixture(scope="module")
def sigma_rules(shared_dir):
    paths = sorted((shared_dir / SIGMA_AWS).rglob("*.yml"))
    assert paths, "no Sigma AWS rules"
    return {p.name: yaml.safe_load(p.read_text()) for p in paths}


@pytest.fixture(scope="module")
def elastic_rules(shared_dir):
    paths = sorted((shared_dir / ELASTIC_AWS).glob("*.toml"))
    assert paths, "no Elastic AWS rules"
    return {p.name: tomllib.loads(p.read_text()) for p in paths}


# --- Sigma -----------------------------------------------------------------------------------------------

def test_sigma_selections_modifiers_and_exclusions():
    rule = {"logsource": {"product": "aws", "service": "cloudtrail"}, "level": "high",
            "detection": {
                "selection_iam": {"eventSource": "iam.amazonaws.com", "eventName|startswith": "Delete"},
                "selection_sts": {"eventSource": "sts.amazonaws.com", "eventName": ["GetSessionToken"]},
                "filter_admin": {"eventName": "DeleteUser", "userIdentity.arn|contains": "admin"},
                "condition": "1 of selection_* and not filter_admin"}}
    logic = _sigma(rule)
    assert _signals(logic, {"api_call"}) == {("api_call", "iam.amazonaws.com:Delete", "prefix"),
                                             ("api_call", "sts.amazonaws.com:GetSessionToken", "exact")}
    assert not any("admin" in s.value or "DeleteUser" in s.value for s in logic.signals)
    assert logic.severity == "high" and logic.parse_confidence == 0.6


def test_sigma_contains_and_endswith_are_low_confidence():
    rule = {"logsource": {"product": "aws", "service": "cloudtrail"},
            "detection": {"sel": {"eventSource": "s3.amazonaws.com", "eventName|contains": "Bucket"},
                          "condition": "sel"}}
    logic = _sigma(rule)
    assert _signals(logic, {"service"}) == {("service", "s3.amazonaws.com", "exact")}
    assert logic.parse_confidence <= 0.3


def test_sigma_all_of_and_them_and_conditions():
    rule = {"logsource": {"product": "aws", "service": "cloudtrail"}, "level": "informational",
            "detection": {"a": {"eventName": "ConsoleLogin"},
                          "b": {"userIdentity.type": "Root", "errorCode": None},
                          "condition": "all of them"}}
    logic = _sigma(rule)
    assert _signals(logic) == {("api_call", "signin.amazonaws.com:ConsoleLogin", "exact"),
                               ("condition", "userIdentity.type=Root", "exact"),
                               ("condition", "errorCode IS NULL", "exact"),
                               ("outcome", "success", "exact")}  # no errorCode: the call succeeded
    assert logic.severity == "info"


def test_sigma_disable_logging_rule(shared_dir):
    rule = yaml.safe_load((shared_dir / SIGMA_AWS / "cloudtrail" / "aws_cloudtrail_disable_logging.yml").read_text())
    logic = _sigma(rule)
    assert ("api_call", "cloudtrail.amazonaws.com:StopLogging", "exact") in _signals(logic)
    assert logic.parse_confidence == 0.9 and logic.severity == "medium"


def test_sigma_output_identical_without_labels(sigma_rules):
    for name, rule in sigma_rules.items():
        bare = {k: v for k, v in copy.deepcopy(rule).items() if k not in ("tags", "title", "description")}
        assert _sigma(rule) == _sigma(bare), name


def test_sigma_exclusion_selection_never_signals(sigma_rules):
    # filter_main_* lists ssm.amazonaws.com / RegisterManagedInstance as exclusions
    logic = _sigma(sigma_rules["aws_cloudtrail_imds_malicious_usage.yml"])
    assert not any("ssm" in s.value or "RegisterManagedInstance" in s.value for s in logic.signals)


def test_sigma_corpus_coverage(sigma_rules):
    covered = [n for n, r in sigma_rules.items() if _api(_sigma(r))]
    assert len(covered) / len(sigma_rules) >= SIGMA_MIN_COVERAGE, sorted(set(sigma_rules) - set(covered))


# --- Elastic ---------------------------------------------------------------------------------------------

def _elastic_doc(query, language="kuery", **rule):
    return {"metadata": {"integration": ["aws"]},
            "rule": {"query": query, "language": language, "type": "query", "severity": "medium",
                     "name": "n", "tags": ["Tactic: Persistence"], **rule}}


def test_kql_provider_action_list_and_outcome():
    logic = _elastic(_elastic_doc('event.dataset:aws.cloudtrail and event.provider:iam.amazonaws.com and '
                                  'event.action:(CreateAccessKey or "AttachUserPolicy") and event.outcome:success'))
    assert _signals(logic) == {("api_call", "iam.amazonaws.com:CreateAccessKey", "exact"),
                               ("api_call", "iam.amazonaws.com:AttachUserPolicy", "exact"),
                               ("condition", "event.outcome=success", "exact"),
                               ("outcome", "success", "exact")}
    assert logic.parse_confidence == 0.9 and logic.severity == "medium"
    assert logic.monitored_entities["datasets"] == ["aws.cloudtrail"]


def test_kql_wildcard_and_negation():
    logic = _elastic(_elastic_doc("event.provider:ec2.amazonaws.com and event.action:Delete* and "
                                  "not event.action:DeleteTags and not aws.cloudtrail.user_identity.type:AWSService"))
    assert _signals(logic) == {("api_call", "ec2.amazonaws.com:Delete", "prefix")}


def test_eql_in_list_and_seed_lookup():
    logic = _elastic(_elastic_doc('any where event.dataset == "aws.cloudtrail" and '
                                  'event.action in ("StopLogging", "DeleteTrail")', language="eql"))
    assert _signals(logic, {"api_call"}) == {("api_call", "cloudtrail.amazonaws.com:StopLogging", "exact"),
                                             ("api_call", "cloudtrail.amazonaws.com:DeleteTrail", "exact")}
    assert logic.parse_confidence == 0.8


def test_eql_sequence_and_not_in():
    query = ('sequence by aws.cloudtrail.user_identity.arn with maxspan=5m '
             '[any where event.provider == "iam.amazonaws.com" and event.action == "CreateUser"] '
             '[any where event.provider == "iam.amazonaws.com" and event.action : "Attach*" '
             'and event.action not in ("AttachGroupPolicy") and not stringContains(user_agent.original, "terraform")]')
    logic = _elastic(_elastic_doc(query, language="eql"))
    assert _signals(logic, {"api_call"}) == {("api_call", "iam.amazonaws.com:CreateUser", "exact"),
                                             ("api_call", "iam.amazonaws.com:Attach", "prefix")}
    assert not any("maxspan" in s.value or "terraform" in s.value for s in logic.signals)


def test_esql_best_effort():
    query = ('from logs-aws.cloudtrail-* | where event.provider == "lambda.amazonaws.com" '
             'and event.action IN ("AddPermission20150331", "UpdateFunctionCode") '
             '// comment with event.action == "Ignored"\n'
             '| stats Esql.count = count(*) by aws.cloudtrail.user_identity.arn | where Esql.count > 5')
    logic = _elastic(_elastic_doc(query, language="esql", type="esql"))
    # AddPermission20150331: Lambda's API version is read as the operation it versions
    assert _signals(logic, {"api_call"}) == {("api_call", "lambda.amazonaws.com:AddPermission", "exact"),
                                             ("api_call", "lambda.amazonaws.com:UpdateFunctionCode", "exact")}
    assert logic.parse_confidence == 0.8


def test_machine_learning_rule_without_query():
    logic = _elastic({"rule": {"type": "machine_learning", "severity": "low"}})
    assert logic.parse_confidence == 0.0 and "no query" in logic.reason


def test_elastic_cloudtrail_created_rule(elastic_rules):
    logic = _elastic(elastic_rules["collection_cloudtrail_logging_created.toml"])
    assert ("api_call", "cloudtrail.amazonaws.com:CreateTrail", "exact") in _signals(logic)
    assert logic.severity == "low"


def test_elastic_output_identical_without_labels(elastic_rules):
    for name, doc in elastic_rules.items():
        bare = copy.deepcopy(doc)
        for key in ("threat", "name", "description", "tags"):
            bare["rule"].pop(key, None)
        assert _elastic(doc) == _elastic(bare), name


def test_elastic_corpus_coverage(elastic_rules):
    covered = [n for n, d in elastic_rules.items() if _api(_elastic(d))]
    with_api_call = [n for n, d in elastic_rules.items()
                     if any(s.signal_type == "api_call" for s in _elastic(d).signals)]
    assert len(covered) / len(elastic_rules) >= ELASTIC_MIN_COVERAGE, sorted(set(elastic_rules) - set(covered))
    assert len(with_api_call) / len(elastic_rules) >= ELASTIC_MIN_COVERAGE


def test_corpus_throughput(sigma_rules, elastic_rules, capsys):
    docs = [("sigma_rule", r) for r in sigma_rules.values()] + [("elastic_rule", d) for d in elastic_rules.values()]
    started = time.perf_counter()
    for detection_type, doc in docs:
        parse(detection_type, {"api_object": doc, "related": {}})
    rate = len(docs) / (time.perf_counter() - started)
    with capsys.disabled():
        print(f"\ncorpus parse throughput: {len(docs)} rules, {rate:,.0f} rules/s")
    assert rate > 100
