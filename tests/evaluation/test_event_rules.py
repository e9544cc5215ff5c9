"""`make eval`'s AWS-native form of a corpus rule keeps what the rule tests about the call: who made it and
whether it failed, as EventBridge content filters."""

import json

import pytest

from dagster_project import evaluate
from dagster_project.lib import settings
from dagster_project.lib.parsing import parse


def _outcome(detection_type: str, api_object: dict) -> str | None:
    logic = parse(detection_type, {"api_object": api_object, "related": {}})
    return logic.trigger_conditions.get("outcome")


def test_content_filters_are_cloudtrail_fields_eventbridge_can_express():
    filters = evaluate.content_filters([
        "userIdentity.type=Root", "userIdentity.accessKeyId=ASIA*", "event.outcome=failure",
        "additionalEventData.MFAUsed!=Yes", "userIdentity.invokedBy NOT EXISTS",
        "source.as.organization.name=Google LLC",  # ECS enrichment: not in the CloudTrail event
        "userAgent contains S3 Browser", "userIdentity.arn re .+:assumed-role/.+"])  # no such EventBridge test
    assert filters == {"userIdentity": {"type": ["Root"], "accessKeyId": [{"prefix": "ASIA"}],
                                        "invokedBy": [{"exists": False}]},
                       "errorCode": [{"exists": True}],
                       "additionalEventData": {"MFAUsed": [{"anything-but": "Yes"}]}}


def test_the_events_a_rule_watches_are_named_without_their_source():
    elastic = {"native_id": "trail", "detection_type": "elastic_rule", "api_object": {"rule": {
        "language": "kuery", "type": "query",
        "query": 'event.provider: "cloudtrail.amazonaws.com" and event.action: (DeleteTrail or Stop*)'}}}
    sigma_s3 = {"native_id": "s3", "detection_type": "sigma_rule", "api_object": {
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "detection": {"selection": {"eventSource": "s3.amazonaws.com"}, "condition": "selection"}}}
    assert evaluate.watched_events(evaluate.event_rules(elastic)) == {"DeleteTrail", "Stop*"}
    assert evaluate.watched_events(evaluate.event_rules(sigma_s3)) == {"s3.amazonaws.com:*"}


def test_a_rule_on_conditions_alone_becomes_one_rule_on_every_event():
    sigma_root = {"native_id": "root", "detection_type": "sigma_rule", "api_object": {
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "detection": {"selection": {"userIdentity.type": "Root"}, "condition": "selection"}}}
    [record] = evaluate.event_rules(sigma_root)
    pattern = json.loads(record["api_object"]["EventPattern"])
    assert pattern["detail"] == {"userIdentity": {"type": ["Root"]}}


@pytest.mark.parametrize("corpus", sorted(evaluate.CORPORA))
def test_every_rule_keeps_its_outcome(shared_dir, corpus):
    """A rule on failed sign-ins stays a rule on failed sign-ins: the outcome the product reads from the corpus
    rule is the one it reads from each EventBridge rule made of it."""
    relative, reader = evaluate.CORPORA[corpus]
    rules = [r for r in reader(shared_dir / relative) if isinstance(r, dict)]
    with_outcome = 0
    for rule in rules:
        expected = _outcome(rule["detection_type"], rule["api_object"])
        records = evaluate.event_rules(rule)
        assert all(_outcome("event_rule", r["api_object"]) == expected for r in records), rule["native_id"]
        with_outcome += bool(expected and records)
    assert with_outcome >= 5  # both corpora test outcomes (Sigma errorCode, Elastic event.outcome)


def test_the_evaluator_scores_at_the_threshold_coverage_counts_at(tmp_path, monkeypatch):
    assert settings.coverage_min_confidence() == 0.6  # docs/coverage-semantics.md's default
    # read from the dbt project, not a second constant: a team that raises the var is scored at its own bar
    (tmp_path / "dbt_project.yml").write_text("name: x\nvars:\n  coverage_min_confidence: 0.75\n")
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", tmp_path)
    assert settings.coverage_min_confidence() == 0.75
