"""Precision, recall and F1 of predicted ATT&CK techniques against labelled ones, micro-averaged over rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    rules: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def parent(technique_id: str) -> str:
    """T1078.004 -> T1078."""
    return technique_id.split(".", 1)[0]


def score(truth: Mapping[str, set[str]], predicted: Mapping[str, set[str]], level: str = "technique") -> Score:
    """Micro-averaged over the labelled rules; a rule without labels cannot be scored and is skipped."""
    tp = fp = fn = rules = 0
    for rule, labels in truth.items():
        if not labels:
            continue
        guess = predicted.get(rule, set())
        if level == "parent":
            labels, guess = {parent(t) for t in labels}, {parent(t) for t in guess}
        rules += 1
        tp += len(labels & guess)
        fp += len(guess - labels)
        fn += len(labels - guess)
    return Score(rules, tp, fp, fn)


def worst(truth: Mapping[str, set[str]], predicted: Mapping[str, set[str]], n: int = 5
          ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The techniques most often missed, and most often claimed wrongly."""
    missed: Counter = Counter()
    wrong: Counter = Counter()
    for rule, labels in truth.items():
        if labels:
            guess = predicted.get(rule, set())
            missed.update(labels - guess)
            wrong.update(guess - labels)
    return missed.most_common(n), wrong.most_common(n)


def table(rows: Iterable[tuple[str, str, Score]]) -> str:
    lines = [f"{'corpus':<10} {'level':<10} {'rules':>5} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>5} "
             f"{'FP':>5} {'FN':>5}"]
    lines += [f"{corpus:<10} {level:<10} {s.rules:>5} {s.precision:>9.2f} {s.recall:>7.2f} {s.f1:>6.2f} "
              f"{s.true_positives:>5} {s.false_positives:>5} {s.false_negatives:>5}" for corpus, level, s in rows]
    return "\n".join(lines)
