"""`make eval` per CloudTrail event, against several references at once.

Every CloudTrail event a reference names becomes one EventBridge rule on that event alone, mapped like any
configuration. Per event, each reference names techniques: Sigma and Elastic the labels of their rules that
watch the event (by name, with its source), TrailDiscover its event file's techniques, Stratus Red Team the
techniques whose detonation produced it (set-up calls left out). *Consensus* is what at least two references
name, *supported* what at least one does; the mapper is scored by recall on consensus, precision against
supported, and the share of referenced events it predicts nothing for, at technique and parent level.

A source never vouches for itself: a reference that is also a knowledge source in play is left out (the
leave-one-corpus-out guard of lib/evaluation/holdout, applied to every reference). So the run scores twice:
with the knowledge as shipped against the references that are not knowledge (Sigma, Elastic), and with those
knowledge sources switched off (dbt var knowledge_sources_off) against all of them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dagster_project.lib.evaluation import holdout
from dagster_project.lib.evaluation.scoring import parent, without_implied_parents
from dagster_project.lib.parsing.event_sources import seed_sources, unversioned
from dagster_project.lib.warehouse import connection, scratch

REFERENCES = ("sigma", "elastic", "traildiscover", "stratus_red_team")
SOURCE = "reference_events"  # raw.detection_presence.source of the per-event rules

# the references that are knowledge sources, as the scratch warehouse derives them (so they are read exactly
# as the indicators are): TrailDiscover's named techniques, Stratus's techniques per detonated event
REFERENCE_MODELS = ("+stg_attack__traildiscover_events", "+int_stratus_event_techniques")
KNOWLEDGE_REFERENCES = {
    "traildiscover": """
        select event_source, event_name, t.technique_id
        from staging.stg_attack__traildiscover_events cross join unnest(technique_ids) as t (technique_id)""",
    "stratus_red_team": """
        select event_source, event_name, technique_id
        from intermediate.int_stratus_event_techniques where technique_id is not null and not is_setup""",
}

PREDICTED = """
select p.native_id, m.attack_technique_id, m.confidence_score::float
from raw.detection_presence as p
inner join marts.content_technique_mappings as m on p.content_hash = m.content_hash
where p.source = %(source)s and m.mapping_method <> 'declared' and m.confidence_score >= %(threshold)s
"""


def event_key(source: str, name: str) -> str:
    """'iam.amazonaws.com', 'UpdateFunctionCode20150331v2' under Lambda -> 'lambda.amazonaws.com:UpdateFunctionCode'."""
    return f"{source}:{unversioned(name, 'exact', [source])[0]}"


def rule_events(records: Iterable[dict], name_sources: Mapping[str, set[str]]) -> tuple[set[str], set[str]]:
    """The events one corpus rule's EventBridge rules watch, as event keys, and the names whose source could not
    be told. A name without its source takes the one source the other references or the API seed give it;
    prefixes and whole services are not events and are left out."""
    events, unresolved = set(), set()
    for record in records:
        detail = json.loads(record["api_object"]["EventPattern"])["detail"]
        sources = detail.get("eventSource", [])
        for name in (n for n in detail.get("eventName", []) if isinstance(n, str)):
            candidates = set(sources) or name_sources.get(name, set())
            if len(candidates) == 1:
                events.add(event_key(next(iter(candidates)), name))
            else:
                unresolved.add(name)
    return events, unresolved


def name_sources(keys: Iterable[str]) -> dict[str, set[str]]:
    """Event name -> the sources it is known under: the given event keys and the API event-source seed."""
    known: dict[str, set[str]] = defaultdict(set)
    for name, sources in seed_sources().items():
        known[name].update(sources)
    for key in keys:
        source, _, name = key.partition(":")
        known[name].add(source)
    return known


def corpus_labels(rule_events_: Mapping[str, set[str]], labels: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Event -> the labels of every labelled corpus rule that watches it."""
    out: dict[str, set[str]] = defaultdict(set)
    for rule, events in rule_events_.items():
        for event in events:
            out[event] |= labels.get(rule, set())
    return {e: t for e, t in out.items() if t}


def usable(references: Iterable[str], sources_in_play: Iterable[str]) -> list[str]:
    """The references no knowledge source in play is derived from (a source never vouches for itself)."""
    sources = list(sources_in_play)
    return [r for r in references if not any(holdout.derived_from(s, r) for s in sources)]


def knowledge_to_switch_off(references: Iterable[str], sources_in_play: Iterable[str]) -> list[str]:
    """The knowledge sources in play that are also references: off, every reference can score."""
    refs = list(references)
    return sorted({s for s in sources_in_play if any(holdout.derived_from(s, r) for r in refs)})


def leveled(techniques: Iterable[str], level: str) -> set[str]:
    return {parent(t) for t in techniques} if level == "parent" else without_implied_parents(techniques)


def consensus(by_reference: Mapping[str, set[str]], level: str, at_least: int = 2) -> set[str]:
    """The techniques at least `at_least` references name for one event (a parent beside its own sub-technique
    is implied by it within each reference, as in the corpus scores)."""
    counts = Counter(t for techniques in by_reference.values() for t in leveled(techniques, level))
    return {t for t, n in counts.items() if n >= at_least}


def supported(by_reference: Mapping[str, set[str]], level: str) -> set[str]:
    """What at least one reference names for the event (exactly as named; parents at parent level)."""
    named = set().union(*by_reference.values()) if by_reference else set()
    return {parent(t) for t in named} if level == "parent" else named


@dataclass(frozen=True)
class EventScore:
    events: int  # referenced events (at least one reference names a technique)
    unpredicted: int  # of those, events the mapper predicts nothing for
    consensus_events: int
    consensus_labels: int
    consensus_hits: int
    claims: int
    supported_claims: int

    @property
    def consensus_recall(self) -> float:
        return self.consensus_hits / self.consensus_labels if self.consensus_labels else 0.0

    @property
    def supported_precision(self) -> float:
        return self.supported_claims / self.claims if self.claims else 0.0

    @property
    def unpredicted_share(self) -> float:
        return self.unpredicted / self.events if self.events else 0.0


def score_events(labels: Mapping[str, Mapping[str, set[str]]], predicted: Mapping[str, set[str]],
                 references: Iterable[str], level: str = "technique", at_least: int = 2) -> EventScore:
    """`labels`: event -> reference -> techniques; only `references` count. Events no counted reference labels
    are not scored. Consensus is what `at_least` references name (1 scores recall against one reference)."""
    refs = set(references)
    events = unpredicted = consensus_events = consensus_labels = hits = claims = good = 0
    for event, by_reference in labels.items():
        named = {r: t for r, t in by_reference.items() if r in refs and t}
        if not named:
            continue
        guess = leveled(predicted.get(event, set()), level)
        agreed = consensus(named, level, at_least)
        events += 1
        unpredicted += not guess
        consensus_events += bool(agreed)
        consensus_labels += len(agreed)
        hits += len(agreed & guess)
        claims += len(guess)
        good += len(guess & supported(named, level))
    return EventScore(events, unpredicted, consensus_events, consensus_labels, hits, claims, good)


def misses(labels: Mapping[str, Mapping[str, set[str]]], predicted: Mapping[str, set[str]],
           references: Iterable[str], n: int = 8) -> tuple[list, list, list]:
    """At technique level: the consensus techniques most often missed, the claims no reference supports most
    often made, and consensus events the mapper predicts nothing for (event, consensus)."""
    refs = set(references)
    missed: Counter = Counter()
    unsupported: Counter = Counter()
    silent = []
    for event, by_reference in sorted(labels.items()):
        named = {r: t for r, t in by_reference.items() if r in refs and t}
        if not named:
            continue
        guess = leveled(predicted.get(event, set()), "technique")
        agreed = consensus(named, "technique")
        missed.update(agreed - guess)
        unsupported.update(guess - supported(named, "technique"))
        if agreed and not guess:
            silent.append((event, sorted(agreed)))
    return missed.most_common(n), unsupported.most_common(n), silent


def event_records(events: Iterable[str]) -> list[dict]:
    """One EventBridge rule per event key, as an account would hold it."""
    records = []
    for key in sorted(events):
        source, _, name = key.partition(":")
        pattern = {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventSource": [source], "eventName": [name]}}
        records.append({"provider": "aws", "service": "eventbridge", "detection_type": "event_rule", "native_id": key,
                        "name": key, "region": "",
                        "api_object": {"Name": key.replace(":", "-")[:64], "State": "ENABLED", "EventBusName": "default",
                                       "EventPattern": json.dumps(pattern, sort_keys=True)},
                        "related": {"targets": [{"Id": "eval", "Arn": "arn:aws:sns:us-east-1:000000000000:eval"}]}})
    return records


def knowledge_labels(conn) -> dict[str, dict[str, set[str]]]:
    """reference -> event -> technique ids as written, for the references that are knowledge sources, read from
    the scratch warehouse's own derivation of them (REFERENCE_MODELS built)."""
    out: dict[str, dict[str, set[str]]] = {}
    for reference, query in KNOWLEDGE_REFERENCES.items():
        by_event: dict[str, set[str]] = defaultdict(set)
        for source, name, technique in conn.execute(query):
            by_event[event_key(source, name)].add(technique)
        out[reference] = dict(by_event)
    return out


def on_version(labels: Mapping[str, Mapping[str, set[str]]], current: Mapping[str, str]
               ) -> dict[str, dict[str, set[str]]]:
    """event -> reference -> techniques, read on the active version (revoked -> replacement); ids it does not
    know are dropped."""
    return {event: {ref: {current[t] for t in techniques if t in current} for ref, techniques in by_ref.items()}
            for event, by_ref in labels.items()}


def predictions(conn, threshold: float) -> dict[str, set[str]]:
    predicted: dict[str, set[str]] = defaultdict(set)
    for event, technique, _ in conn.execute(PREDICTED, {"source": SOURCE, "threshold": threshold}):
        predicted[event].add(technique)
    return predicted


def table(rows: Iterable[tuple[str, str, str, EventScore]]) -> str:
    lines = [f"{'knowledge':<40} {'references':<44} {'level':<10} {'events':>6} {'no pred':>7} "
             f"{'consensus recall':>16} {'supported precision':>19}"]
    lines += [f"{knowledge:<40} {refs:<44} {level:<10} {s.events:>6} {s.unpredicted_share:>7.0%} "
              f"{s.consensus_recall:>6.2f} ({s.consensus_hits:>3}/{s.consensus_labels:<3}) "
              f"{s.supported_precision:>8.2f} ({s.supported_claims:>3}/{s.claims:<3})"
              for knowledge, refs, level, s in rows]
    return "\n".join(lines)


class EventEvaluation:
    """The per-event evaluation inside `make eval`: built before the scratch warehouse maps anything (its rules
    go through the same run), scored after the corpora."""

    def __init__(self, url: str):
        self.url = url
        scratch.dbt(url, "run", "--quiet", "--select", *REFERENCE_MODELS)
        with connection.connect(url) as conn:
            self.knowledge = knowledge_labels(conn)
        self.corpora: dict[str, tuple[dict[str, list[dict]], dict[str, set[str]]]] = {}
        self.details: dict = {}  # per event: each reference's techniques and the predictions (DCV_EVAL_DETAILS)

    def add_corpus(self, corpus: str, forms: Mapping[str, list[dict]], labels: Mapping[str, set[str]]) -> None:
        """A rule corpus as a reference: each rule's EventBridge form and its declared labels."""
        self.corpora[corpus] = (dict(forms), dict(labels))

    def labels(self) -> tuple[dict[str, dict[str, set[str]]], dict[str, set[str]]]:
        """event -> reference -> technique ids as written; and per corpus, the names whose source is unknown."""
        # a bare name's source: the one the corpora's rules that name a source, the other references or the API
        # seed give it (rule_events with no name map resolves only the names written with their source)
        explicit = set()
        for forms, _ in self.corpora.values():
            for records in forms.values():
                explicit |= rule_events(records, {})[0]
        names = name_sources({*explicit, *(e for by_event in self.knowledge.values() for e in by_event)})
        out: dict[str, dict[str, set[str]]] = defaultdict(dict)
        unresolved = {}
        for corpus, (forms, labels) in self.corpora.items():
            watched, unknown = {}, set()
            for rule, records in forms.items():
                watched[rule], missing = rule_events(records, names)
                unknown |= missing
            unresolved[corpus] = unknown
            for event, techniques in corpus_labels(watched, labels).items():
                out[event][corpus] = techniques
        for reference, by_event in self.knowledge.items():
            for event, techniques in by_event.items():
                out[event][reference] = set(techniques)
        return dict(out), unresolved

    def records(self) -> list[dict]:
        return event_records(self.labels()[0])

    def score(self, threshold: float, current: Mapping[str, str]) -> str:
        """Scored with the knowledge as shipped against the references no source in play is derived from, then
        with the knowledge sources that are references switched off against all references; the scratch
        warehouse is left as it was."""
        raw, unresolved = self.labels()
        labels = on_version(raw, current)
        references = [r for r in REFERENCES if any(r in by_ref for by_ref in labels.values())]
        rows, lines = [], []
        with connection.connect(self.url) as conn:
            sources = [s for (s,) in conn.execute("select distinct source from marts.threat_indicators")]
            shipped = predictions(conn, threshold)
        refs = usable(references, sources)
        for r in refs:
            holdout.assert_held_out(sources, r)
        for level in ("technique", "parent"):
            rows.append(("as shipped", "+".join(refs), level, score_events(labels, shipped, refs, level)))
        off = knowledge_to_switch_off(references, sources)
        held_out = shipped
        with connection.connect(self.url) as conn:
            weaker = predictions(conn, 0.0)
        if off:
            scratch.dbt(self.url, "run", "--quiet", "--select", "+content_technique_mappings",
                        "--vars", json.dumps({"knowledge_sources_off": off}))
            try:
                with connection.connect(self.url) as conn:
                    left = [s for (s,) in conn.execute("select distinct source from marts.threat_indicators")]
                    held_out = predictions(conn, threshold)
                    weaker = predictions(conn, 0.0)
            finally:
                scratch.dbt(self.url, "run", "--quiet", "--select", "+content_technique_mappings")
            for r in references:
                holdout.assert_held_out(left, r)
            for level in ("technique", "parent"):
                rows.append((f"without {'+'.join(off)}", "+".join(references), level,
                             score_events(labels, held_out, references, level)))
        for reference in references:
            for level in ("technique", "parent"):
                rows.append((f"without {'+'.join(off)}" if off else "as shipped", f"{reference} alone", level,
                             score_events(labels, held_out, [reference], level, at_least=1)))
        missed, unsupported, silent = misses(labels, held_out, references)
        self.details = {event: {"references": {r: sorted(t) for r, t in by_ref.items()},
                                "predicted_as_shipped": sorted(shipped.get(event, ())),
                                "predicted_held_out": sorted(held_out.get(event, ()))}
                        for event, by_ref in sorted(labels.items())}
        lines.append(table(rows))
        lines.append("(events: referenced events; no pred: share with no prediction; consensus: named by >= 2 "
                     "references (one reference alone: recall against it); supported: named by >= 1. A reference "
                     "that is also a knowledge source in play is left out: the rows 'without ...' switch those "
                     "sources off to score against every reference)")
        for corpus, names in sorted(unresolved.items()):
            if names:
                lines.append(f"{corpus}: {len(names)} event names with no single known source, not scored "
                             f"({', '.join(sorted(names)[:6])}{', ...' if len(names) > 6 else ''})")
        silent_events = [e for e, by_ref in labels.items() if any(by_ref.get(r) for r in references)
                         and not held_out.get(e)]
        below = sum(1 for e in silent_events if weaker.get(e))
        lines.append(f"events without prediction: {len(silent_events)}, of which {below} have weaker knowledge (an "
                     f"indicator below the threshold) and {len(silent_events) - below} none")
        lines.append(f"consensus techniques most missed: {missed}")
        lines.append(f"claims no reference supports, most made: {unsupported}")
        lines.append(f"consensus events with no prediction ({len(silent)}): "
                     + "; ".join(f"{e} {'/'.join(t)}" for e, t in silent[:25]) + (" ..." if len(silent) > 25 else ""))
        return "\n".join(lines)
