from dagster_project.lib.evaluation.scoring import parent, score, worst


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
