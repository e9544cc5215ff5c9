"""Leave-one-corpus-out and the tag wall of `make eval`, without a database."""

import json
import re

import pytest

from dagster_project import evaluate
from dagster_project.lib.evaluation import references
from dagster_project.lib.evaluation.holdout import assert_held_out, derived_from
from dagster_project.lib.sources import rule_repos

PRODUCT_SOURCES = ["attack_analytic", "ctid_mappings_explorer", "curated", "traildiscover", "stratus_red_team"]


def test_product_sources_are_held_out_for_both_corpora():
    for corpus in ("sigma", "elastic"):
        assert_held_out(PRODUCT_SOURCES, corpus)


def test_a_reference_that_is_a_knowledge_source_is_refused_until_switched_off():
    """TrailDiscover and Stratus are knowledge and references: scoring against them with them in play is refused,
    and the per-event evaluation switches exactly them off to score against every reference."""
    for reference in ("traildiscover", "stratus_red_team"):
        with pytest.raises(RuntimeError, match=f"derived from {reference}"):
            assert_held_out(PRODUCT_SOURCES, reference)
    off = references.knowledge_to_switch_off(references.REFERENCES, PRODUCT_SOURCES)
    left = [s for s in PRODUCT_SOURCES if s not in off]
    assert off == ["stratus_red_team", "traildiscover"] and left == ["attack_analytic", "ctid_mappings_explorer", "curated"]
    for reference in references.REFERENCES:
        assert_held_out(left, reference)


def test_knowledge_learned_from_a_corpus_blocks_scoring_that_corpus_only():
    sources = [*PRODUCT_SOURCES, "sigma_event_names"]
    assert derived_from("sigma_event_names", "sigma") and derived_from("Elastic", "elastic")
    assert not derived_from("sigma_event_names", "elastic") and not derived_from("curated", "sigma")
    assert_held_out(sources, "elastic")  # Sigma knowledge may score Elastic
    with pytest.raises(RuntimeError, match="derived from sigma"):
        assert_held_out(sources, "sigma")
    with pytest.raises(RuntimeError, match="derived from elastic"):
        assert_held_out([*PRODUCT_SOURCES, "elastic"], "elastic")


@pytest.mark.parametrize("corpus", sorted(evaluate.CORPORA))
def test_event_rules_carry_no_declared_label(shared_dir, corpus):
    """What the evaluator stores for a corpus rule is the same with and without its labels, and names none."""
    relative, reader = evaluate.CORPORA[corpus]
    rules = [r for r in reader(shared_dir / relative) if isinstance(r, dict)]
    assert rules
    for rule in rules:
        labels = {t for t, _ in rule_repos.declared_tags(rule)}
        bare = json.loads(json.dumps(rule))
        for key in ("tags", "title", "description"):
            bare["api_object"].pop(key, None)
        if "rule" in bare["api_object"]:
            for key in ("threat", "tags", "name", "description"):
                bare["api_object"]["rule"].pop(key, None)
        records = evaluate.event_rules(rule)
        assert records == evaluate.event_rules(bare), rule["native_id"]
        text = json.dumps(records)
        assert not any(re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE) for t in labels), rule["native_id"]


def test_reference_events_carry_no_label(shared_dir):
    """The per-event rules of `make eval` are one EventBridge rule per event the corpora watch: built from the
    corpus rules with their labels removed, and naming no label."""
    forms, bare_forms, labels = {}, {}, set()
    for corpus, (relative, reader) in evaluate.CORPORA.items():
        for rule in (r for r in reader(shared_dir / relative) if isinstance(r, dict)):
            labels |= {t for t, _ in rule_repos.declared_tags(rule)}
            bare = json.loads(json.dumps(rule))
            for key in ("tags", "title", "description"):
                bare["api_object"].pop(key, None)
            for key in ("threat", "tags", "name", "description"):
                bare["api_object"].get("rule", {}).pop(key, None)
            forms[f"{corpus}/{rule['native_id']}"] = evaluate.event_rules(rule)
            bare_forms[f"{corpus}/{rule['native_id']}"] = evaluate.event_rules(bare)
    names = references.name_sources([])

    def events(by_rule):
        return set().union(*(references.rule_events(records, names)[0] for records in by_rule.values()))

    watched = events(forms)
    assert len(watched) > 300 and watched == events(bare_forms)
    text = json.dumps(references.event_records(watched))
    assert labels and not any(re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE) for t in labels)
