from dagster_project.lib.evaluation.scoring import (
    curve,
    parent,
    peer_labels,
    predicted_at,
    score,
    split_unknown,
    without_implied_parents,
    worst,
)


def test_micro_average_over_labelled_rules():
    truth = {"a": {"T1098.001"}, "b": {"T1562.008", "T1078.004"}, "unlabelled": set()}
    predicted = {"a": {"T1098.001", "T1136.003"}, "b": {"T1562.008"}, "unlabelled": {"T1110"}}
    s = score(truth, predicted)
    assert (s.rules, s.true_positives, s.false_positives, s.false_negatives) == (2, 2, 1, 1)
    assert round(s.precision, 3) == 0.667 and round(s.recall, 3) == 0.667


def test_parent_level_credits_a_sibling_subtechnique():
    truth = {"a": {"T1078.004"}}
    predicted = {"a": {"T1078.001"}}
    assert score(truth, predicted).true_positives == 0
    assert score(truth, predicted, level="parent").true_positives == 1
    assert parent("T1078.004") == "T1078" and parent("T1110") == "T1110"


def test_nothing_predicted_scores_zero_not_an_error():
    s = score({"a": {"T1110"}}, {})
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)
    assert worst({"a": {"T1110"}}, {})[0] == [("T1110", 1)]


def test_technique_level_reads_a_parent_beside_its_subtechnique_as_implied():
    # Elastic labels parent and sub-technique together, Sigma the sub-technique alone: scored alike
    elastic = {"a": {"T1562", "T1562.001"}}
    sigma = {"a": {"T1562.001"}}
    assert score(elastic, {"a": {"T1562.001"}}).true_positives == 1
    assert score(elastic, {"a": {"T1562.001"}}).false_negatives == 0
    assert score(sigma, {"a": {"T1562", "T1562.001"}}).false_positives == 0
    # a parent without any of its sub-techniques is still its own claim, right or wrong
    assert score({"a": {"T1562.001"}}, {"a": {"T1562"}}).false_positives == 1
    assert score({"a": {"T1078", "T1562.001"}}, {"a": {"T1562.001"}}).false_negatives == 1
    # "labelled" scores ids exactly as written
    assert score(elastic, {"a": {"T1562.001"}}, level="labelled").false_negatives == 1
    assert without_implied_parents({"T1098", "T1098.001", "T1110"}) == {"T1098.001", "T1110"}


def test_labels_unknown_to_the_active_version_are_split_out_not_dropped():
    known = {"T1562", "T1562.001", "T1110"}
    scored, unknown = split_unknown({"a": {"T1685", "T1562.001"}, "b": {"T1685.002"}, "c": {"T1110"}}, known)
    assert scored == {"a": {"T1562.001"}, "b": set(), "c": {"T1110"}}
    assert unknown == {"a": {"T1685"}, "b": {"T1685.002"}}
    # a rule left with no known label cannot be scored (skipped, not counted as a miss)
    assert score(scored, {"b": {"T1562.001"}}).rules == 2


def test_the_curve_trades_precision_for_recall_at_each_threshold():
    truth = {"a": {"T1098.001"}, "b": {"T1562.008"}}
    inferred = [("a", "T1098.001", 0.85), ("a", "T1136.003", 0.5), ("b", "T1562.001", 0.45), ("b", "T1562.008", 0.6)]
    assert predicted_at(inferred, 0.6) == {"a": {"T1098.001"}, "b": {"T1562.008"}}
    # a threshold counts from its own value: a 0.6 mapping is credited at 0.6
    (low, t_low, p_low), (mid, t_mid, _), (high, t_high, _) = curve(truth, inferred, [0.4, 0.6, 0.8])
    assert (low, mid, high) == (0.4, 0.6, 0.8)
    assert (t_low.true_positives, t_low.false_positives) == (2, 2)
    assert (t_mid.true_positives, t_mid.false_positives) == (2, 0)
    assert (t_high.true_positives, t_high.false_negatives) == (1, 1)
    # a sibling sub-technique is a parent-level hit, not a false claim
    assert (p_low.true_positives, p_low.false_positives) == (2, 1)


def test_peer_labels_give_each_rule_what_the_other_rules_on_its_events_carry():
    truth = {"a": {"T1562.008"}, "b": {"T1562.008"}, "c": {"T1485"}, "d": {"T1098"}, "unlabelled": set()}
    watched = {"a": {"DeleteTrail"}, "b": {"DeleteTrail", "StopLogging"}, "c": {"StopLogging"},
               "d": {"CreateUser"}, "unlabelled": {"DeleteTrail"}}
    peers = peer_labels(truth, watched)
    assert peers["a"] == {"T1562.008"}  # b: its only labelled peer (the unlabelled rule is no peer)
    assert peers["b"] == {"T1562.008", "T1485"}  # a and c, each half of its peers
    assert "d" not in peers and "unlabelled" in peers  # nobody else watches CreateUser; its own label never counts
    assert peer_labels(truth, watched, share=0.6)["b"] == set()
    assert score(truth, peers).true_positives == 2
