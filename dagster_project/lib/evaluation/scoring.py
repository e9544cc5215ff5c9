"""Precision, recall and F1 of predicted ATT&CK techniques against labelled ones, micro-averaged over rules."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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


def without_implied_parents(techniques: Iterable[str]) -> set[str]:
    """{T1562, T1562.001} -> {T1562.001}: a parent listed beside one of its own sub-techniques adds nothing.

    In ATT&CK a sub-technique is a specific way of doing its parent, so naming the sub-technique names the
    parent too. Elastic writes both, Sigma usually only the sub-technique; reading both sides (labels and
    predictions) this way scores the two conventions alike. A parent listed without any of its
    sub-techniques stays a separate claim."""
    techniques = set(techniques)
    return {t for t in techniques if not any(u != t and parent(u) == t for u in techniques)}


def split_unknown(truth: Mapping[str, set[str]], known: Iterable[str]
                  ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Labels the active ATT&CK version knows, and those it does not (e.g. ids from a newer release).

    An unknown id cannot be predicted by construction, so it is not scored; the evaluator reports how many
    there were instead of dropping them silently."""
    known = set(known)
    return ({r: {t for t in tags if t in known} for r, tags in truth.items()},
            {r: {t for t in tags if t not in known} for r, tags in truth.items() if tags - known})


def score(truth: Mapping[str, set[str]], predicted: Mapping[str, set[str]], level: str = "technique") -> Score:
    """Micro-averaged over the labelled rules; a rule without labels cannot be scored and is skipped.

    level "technique": exact ids, a parent beside its own sub-technique read as implied (both sides);
    "parent": ids cut to their parent technique; "labelled": exact ids as written, nothing implied."""
    tp = fp = fn = rules = 0
    for rule, labels in truth.items():
        if not labels:
            continue
        guess = predicted.get(rule, set())
        if level == "parent":
            labels, guess = {parent(t) for t in labels}, {parent(t) for t in guess}
        elif level == "technique":
            labels, guess = without_implied_parents(labels), without_implied_parents(guess)
        rules += 1
        tp += len(labels & guess)
        fp += len(guess - labels)
        fn += len(labels - guess)
    return Score(rules, tp, fp, fn)


def predicted_at(inferred: Iterable[tuple[str, str, float]], threshold: float) -> dict[str, set[str]]:
    """(rule, technique, confidence) -> the techniques each rule is credited with at `threshold` and above."""
    predicted: dict[str, set[str]] = defaultdict(set)
    for rule, technique, confidence in inferred:
        if confidence >= threshold:
            predicted[rule].add(technique)
    return predicted


def curve(truth: Mapping[str, set[str]], inferred: Sequence[tuple[str, str, float]], thresholds: Iterable[float]
          ) -> list[tuple[float, Score, Score]]:
    """Technique- and parent-level scores at each confidence threshold: how the confidence scale trades
    precision for recall, so the coverage threshold is chosen with the cost of either side in view."""
    return [(t, score(truth, p := predicted_at(inferred, t)), score(truth, p, "parent")) for t in thresholds]


def peer_labels(truth: Mapping[str, set[str]], watched: Mapping[str, set[str]], share: float = 0.5
                ) -> dict[str, set[str]]:
    """For each rule, the techniques carried by at least `share` of the other labelled rules that watch one of
    its events: a corpus's own labels used as a lookup, the rule itself left out. A rule no other labelled
    rule shares an event with gets no entry.

    Not a mapper (it reads the labels it is scored against). Scored like one, it measures how far a corpus's
    labels follow the events its rules watch, and so what a mapping keyed on events could reach on it even if
    it had learned that vendor's conventions."""
    by_event: dict[str, set[str]] = defaultdict(set)
    for rule, events in watched.items():
        if truth.get(rule):
            for event in events:
                by_event[event].add(rule)
    predicted = {}
    for rule in truth:
        peers = set().union(*(by_event.get(e, set()) for e in watched.get(rule, ()))) - {rule}
        if peers:
            counts = Counter(t for peer in peers for t in truth[peer])
            predicted[rule] = {t for t, n in counts.items() if n >= share * len(peers)}
    return predicted


def worst(truth: Mapping[str, set[str]], predicted: Mapping[str, set[str]], n: int = 5
          ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The techniques most often missed, and most often claimed wrongly."""
    missed: Counter = Counter()
    wrong: Counter = Counter()
    for rule, labels in truth.items():
        if labels:
            labels, guess = without_implied_parents(labels), without_implied_parents(predicted.get(rule, set()))
            missed.update(labels - guess)
            wrong.update(guess - labels)
    return missed.most_common(n), wrong.most_common(n)


def table(rows: Iterable[tuple[str, str, Score]]) -> str:
    lines = [f"{'corpus':<10} {'level':<10} {'rules':>5} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>5} "
             f"{'FP':>5} {'FN':>5}"]
    lines += [f"{corpus:<10} {level:<10} {s.rules:>5} {s.precision:>9.2f} {s.recall:>7.2f} {s.f1:>6.2f} "
              f"{s.true_positives:>5} {s.false_positives:>5} {s.false_negatives:>5}" for corpus, level, s in rows]
    return "\n".join(lines)


def curve_table(rows: Iterable[tuple[str, float, Score, Score]], marked: float) -> str:
    lines = [f"{'corpus':<10} {'threshold':>9}   {'technique P / R / F1':>20}   {'parent P / R / F1':>18}"]
    lines += [f"{corpus:<10} {t:>9.2f}{'*' if t == marked else ' '}  "
              f"{s.precision:>6.2f} {s.recall:>5.2f} {s.f1:>5.2f}      {p.precision:>6.2f} {p.recall:>5.2f} {p.f1:>5.2f}"
              for corpus, t, s, p in rows]
    return "\n".join(lines)
