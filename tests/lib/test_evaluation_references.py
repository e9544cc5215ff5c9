"""The per-event evaluation against several references (lib/evaluation/references.py): consensus and support,
the three figures, which references may score while a knowledge source is in play, and the events a corpus
rule watches."""

import json

import pytest

from dagster_project.lib.evaluation import references as refs

LABELS = {
    # two references agree on T1562.008 (one writes the parent beside it: implied), a third names T1562.001
    "cloudtrail.amazonaws.com:StopLogging": {"sigma": {"T1562.008"}, "traildiscover": {"T1562", "T1562.008"},
                                             "elastic": {"T1562.001"}},
    # only one reference: supported, no consensus
    "iam.amazonaws.com:CreateUser": {"stratus_red_team": {"T1136.003"}},
    # named by nobody we count
    "s3.amazonaws.com:ListBuckets": {"sigma": set()},
}


def test_consensus_needs_two_references_and_reads_a_listed_parent_as_implied():
    named = LABELS["cloudtrail.amazonaws.com:StopLogging"]
    assert refs.consensus(named, "technique") == {"T1562.008"}
    assert refs.consensus(named, "parent") == {"T1562"}  # all three at parent level
    assert refs.supported(named, "technique") == {"T1562", "T1562.008", "T1562.001"}


def test_recall_on_consensus_precision_on_support_and_events_without_prediction():
    predicted = {"cloudtrail.amazonaws.com:StopLogging": {"T1562.008", "T1070"}}
    score = refs.score_events(LABELS, predicted, ["sigma", "elastic", "traildiscover", "stratus_red_team"])
    assert (score.events, score.unpredicted) == (2, 1)  # ListBuckets has no label: not a referenced event
    assert (score.consensus_events, score.consensus_labels, score.consensus_hits) == (1, 1, 1)
    assert (score.claims, score.supported_claims) == (2, 1)  # T1070 is named by no reference
    assert (score.consensus_recall, score.supported_precision, score.unpredicted_share) == (1.0, 0.5, 0.5)
    # without TrailDiscover, nobody agrees with Sigma on StopLogging any more, and CreateUser still counts
    alone = refs.score_events(LABELS, predicted, ["sigma", "elastic", "stratus_red_team"])
    assert (alone.consensus_labels, alone.events) == (0, 2)
    # one reference alone: recall against it
    single = refs.score_events(LABELS, predicted, ["stratus_red_team"], at_least=1)
    assert (single.events, single.consensus_labels, single.consensus_hits, single.unpredicted) == (1, 1, 0, 1)


def test_a_reference_that_is_a_knowledge_source_in_play_never_scores():
    in_play = ["attack_analytic", "curated", "ctid_mappings_explorer", "traildiscover", "stratus_red_team"]
    assert refs.usable(refs.REFERENCES, in_play) == ["sigma", "elastic"]
    assert refs.knowledge_to_switch_off(refs.REFERENCES, in_play) == ["stratus_red_team", "traildiscover"]
    left = [s for s in in_play if s not in refs.knowledge_to_switch_off(refs.REFERENCES, in_play)]
    assert refs.usable(refs.REFERENCES, left) == list(refs.REFERENCES)
    # knowledge learned from a corpus (named after it) takes that corpus out too
    assert refs.usable(refs.REFERENCES, [*left, "sigma_event_names"]) == ["elastic", "traildiscover", "stratus_red_team"]


def _rule(detail: dict) -> dict:
    return {"api_object": {"EventPattern": json.dumps({"detail": detail})}}


def test_the_events_a_rule_watches_with_their_source():
    names = refs.name_sources(["iam.amazonaws.com:CreateUser"])
    records = [_rule({"eventSource": ["lambda.amazonaws.com"], "eventName": ["UpdateFunctionCode20150331v2"]}),
               _rule({"eventName": ["CreateUser", {"prefix": "Delete"}, "NoSuchCallAnywhere"]}),
               _rule({"eventSource": ["s3.amazonaws.com"]})]  # a whole service: not an event
    events, unresolved = refs.rule_events(records, names)
    assert events == {"lambda.amazonaws.com:UpdateFunctionCode", "iam.amazonaws.com:CreateUser"}
    assert unresolved == {"NoSuchCallAnywhere"}
    assert refs.corpus_labels({"r1": events, "r2": {"iam.amazonaws.com:CreateUser"}, "r3": {"x:Y"}},
                              {"r1": {"T1136.003"}, "r2": {"T1098"}, "r3": set()}) == {
        "lambda.amazonaws.com:UpdateFunctionCode": {"T1136.003"}, "iam.amazonaws.com:CreateUser": {"T1136.003", "T1098"}}


@pytest.mark.parametrize("labels", [{}, {"sigma": {"T1562.008"}, "traildiscover": {"T1562.001"}}])
def test_an_event_rule_is_the_event_alone(labels):
    """What is mapped for an event names its source and name only, whatever the references say about it."""
    records = refs.event_records({"cloudtrail.amazonaws.com:StopLogging": labels})
    assert records == refs.event_records(["cloudtrail.amazonaws.com:StopLogging"])
    pattern = json.loads(records[0]["api_object"]["EventPattern"])
    assert pattern["detail"] == {"eventSource": ["cloudtrail.amazonaws.com"], "eventName": ["StopLogging"]}
    assert "T1" not in json.dumps(records)
