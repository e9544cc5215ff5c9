"""`make eval`: mapping accuracy on the Sigma and Elastic AWS corpora, declared tags hidden from inference.

Each rule is turned into what an AWS account would hold — one EventBridge rule per CloudTrail event source it
watches, built from its parsed event source/names only — and goes through the product's own path: raw storage,
the parser, and the dbt mapping models on a scratch database. Predictions (pattern_match / vendor_mapping at
or above the coverage threshold) are scored against the rule's declared tags at technique and parent level.

Leave-one-corpus-out: no indicator is derived from Sigma or Elastic (the sources are ATT&CK analytics, CTID
mappings and the curated seed); before scoring each corpus the run checks that no indicator source learned from
that corpus is in play (lib/evaluation/holdout) and refuses to score otherwise.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.detections.store import AccountScan
from dagster_project.lib.evaluation import holdout, providers, references, scoring
from dagster_project.lib.parsing import parse
from dagster_project.lib.parsing.conditions import split_condition
from dagster_project.lib.sources import rule_repos
from dagster_project.lib.warehouse import connection, runtime, scratch

CORPORA = {"sigma": ("sigma/rules/cloud/aws", rule_repos.read_sigma),
           "elastic": ("elastic/rules/integrations/aws", rule_repos.read_elastic)}
API_SIGNALS = ("api_call", "api_call_name", "service")
# the top-level fields of a CloudTrail record: a rule's tests on them go into its EventBridge pattern as
# content filters (ECS-only fields such as source.as.* have no place in the event EventBridge sees)
CLOUDTRAIL_FIELDS = {"userIdentity", "errorCode", "errorMessage", "additionalEventData", "responseElements",
                     "requestParameters", "sourceIPAddress", "userAgent", "eventType", "eventCategory",
                     "readOnly", "recipientAccountId", "awsRegion", "sessionCredentialFromConsole"}
SCRATCH_DB = "dcv_eval"

# every inferred mapping with its confidence and evidence: scored at each threshold, and written out with
# DCV_EVAL_DETAILS (calibration and review)
INFERRED = """
select p.native_id, m.attack_technique_id, m.confidence_score::float, m.rationale
from raw.detection_presence as p
inner join marts.content_technique_mappings as m on p.content_hash = m.content_hash
where p.source = %(corpus)s and m.mapping_method <> 'declared'
"""
# the precision / recall trade-off of the confidence scale, printed around the coverage threshold
CURVE_THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8)

# leave-one-corpus-out: the indicator sources in play, checked before each corpus is scored (lib/evaluation/holdout)
INDICATOR_SOURCES = "select distinct source from marts.threat_indicators"

CURRENT_IDS = """
select t.technique_id, coalesce(t.revoked_by_technique_id, t.technique_id)
from marts.mitre_techniques as t inner join marts.mitre_versions as v on t.version_id = v.id and v.is_active
"""


def content_filters(conditions: list[str]) -> dict:
    """A rule's tests on CloudTrail record fields as EventBridge content filters:
    ['userIdentity.type=Root', 'errorCode IS NULL'] -> {'userIdentity': {'type': ['Root']}, 'errorCode':
    [{'exists': False}]}. ECS's event.outcome is CloudTrail's errorCode (present on failed calls only); tests
    EventBridge cannot express (regular expressions, substrings) are left out, as a rule author would have to."""
    filters: dict = {}
    for text in conditions:
        parts = split_condition(text)
        if parts is None:
            continue
        field, cmp, value = parts
        if field == "event.outcome" and cmp == "=" and value in ("success", "failure"):
            field, cmp = "errorCode", ("exists" if value == "failure" else "not exists")
        if field.split(".")[0] not in CLOUDTRAIL_FIELDS:
            continue
        if cmp == "=" and value and "*" not in value.rstrip("*"):
            matcher = {"prefix": value.rstrip("*")} if value.endswith("*") else value
        elif cmp == "startswith" and value:
            matcher = {"prefix": value}
        elif cmp == "!=" and value:
            matcher = {"anything-but": value}
        elif cmp in ("exists", "is not null", "not exists", "is null"):
            matcher = {"exists": cmp in ("exists", "is not null")}
        else:
            continue
        node = filters
        *parents, leaf = field.split(".")
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            if isinstance(node.setdefault(leaf, []), list) and matcher not in node[leaf]:
                node[leaf].append(matcher)
    return filters


def event_rules(rule: dict) -> list[dict]:
    """The AWS-native form of a repository rule: EventBridge rules on the CloudTrail events it watches, with
    its tests on the record's fields (who called, did the call fail) as content filters.

    Built from parsed signals of the rule with its tags, title and description removed, so the declared
    labels have no path into inference."""
    document = {k: v for k, v in rule["api_object"].items() if k not in ("tags", "title", "description")}
    if "rule" in document:
        document["rule"] = {k: v for k, v in document["rule"].items()
                            if k not in ("threat", "tags", "name", "description")}
    parsed = parse(rule["detection_type"], {"api_object": document, "related": {}}).signals
    filters = content_filters([s.value for s in parsed if s.signal_type == "condition"])
    by_source: dict[str, list] = defaultdict(list)
    for s in (s for s in parsed if s.signal_type in API_SIGNALS):
        source, _, name = s.value.partition(":") if s.signal_type == "api_call" else (
            (s.value, "", "") if s.signal_type == "service" else ("", "", s.value))
        by_source[source].append({"prefix": name} if s.qualifier == "prefix" else name)
    if not by_source and filters:  # any event, on conditions alone (root activity)
        by_source[""] = []
    rules = []
    for n, (source, names) in enumerate(sorted(by_source.items(), key=lambda kv: kv[0])):
        detail: dict = json.loads(json.dumps(filters))
        if source:
            detail["eventSource"] = [source]
        names = [x for x in names if x]
        if names:
            detail["eventName"] = sorted(names, key=json.dumps)
        pattern = {"detail-type": ["AWS API Call via CloudTrail"], "detail": detail}
        rules.append({"provider": "aws", "service": "eventbridge", "detection_type": "event_rule",
                      "native_id": f"{rule['native_id']}#{n}", "name": f"eval rule {n}", "region": "",
                      "api_object": {"Name": f"eval-{n}", "State": "ENABLED", "EventBusName": "default",
                                     "EventPattern": json.dumps(pattern, sort_keys=True)},
                      "related": {"targets": [{"Id": "eval", "Arn": "arn:aws:sns:us-east-1:000000000000:eval"}]}})
    return rules


def watched_events(records: list[dict]) -> set[str]:
    """The events a corpus rule's EventBridge rules match: each event name (`Delete*` for a prefix), or
    `<source>:*` for a source watched whole. Names without their source, so that rules naming one event with
    and without its source count as watching the same one."""
    events = set()
    for record in records:
        detail = json.loads(record["api_object"]["EventPattern"])["detail"]
        names = [f"{n['prefix']}*" if isinstance(n, dict) else n for n in detail.get("eventName", [])]
        events.update(names or (f"{source}:*" for source in detail.get("eventSource", [""])))
    return events


def main(threshold: float | None = None) -> int:
    coverage_threshold = settings_mod.coverage_min_confidence()
    threshold = coverage_threshold if threshold is None else threshold
    cfg = settings_mod.load()
    started = time.perf_counter()
    target, _ = runtime.prepare(cfg)
    truth: dict[str, dict[str, set[str]]] = {}
    watched: dict[str, dict[str, set[str]]] = {}
    url = connection.recreate_database(target.url, SCRATCH_DB)
    try:
        scratch.load_attack(url, cfg)
        event_eval = references.EventEvaluation(url)  # per CloudTrail event, against several references
        scans = []
        for corpus, (relative, reader) in CORPORA.items():
            root = cfg.shared_dir / relative
            if not root.is_dir():
                print(f"skipping {corpus}: {root} not found (set DCV_SHARED)")
                continue
            items = list(reader(root))
            rules = [r for r in items if isinstance(r, dict)]
            for reject in (r for r in items if not isinstance(r, dict)):
                print(f"{corpus}: not scored, {reject.object_ref}: {reject.reason}")
            truth[corpus] = {r["native_id"]: {t for t, _ in rule_repos.declared_tags(r)} for r in rules}
            forms = {r["native_id"]: event_rules(r) for r in rules}
            watched[corpus] = {rule: watched_events(records) for rule, records in forms.items()}
            event_eval.add_corpus(corpus, forms, truth[corpus])
            records = [e for rule_records in forms.values() for e in rule_records]
            scans.append(AccountScan(corpus, "", datetime.now(UTC), records, completed_at=datetime.now(UTC)))
        scans.append(AccountScan(references.SOURCE, "", datetime.now(UTC), event_eval.records(),
                                 completed_at=datetime.now(UTC)))
        scratch.map_scans(url, date.today(), scans)  # no declared tags: inference alone is scored
        with connection.connect(url) as conn:
            sources = [source for (source,) in conn.execute(INDICATOR_SOURCES)]
            current = dict(conn.execute(CURRENT_IDS).fetchall())
            rows = []
            curve = []
            report = []
            details: dict = {}
            for corpus, labels in truth.items():
                holdout.assert_held_out(sources, corpus)
                found = conn.execute(INFERRED, {"corpus": corpus}).fetchall()
                inferred = [(native_id.rsplit("#", 1)[0], technique, confidence)
                            for native_id, technique, confidence, _ in found]
                predicted = scoring.predicted_at(inferred, threshold)
                # labels written against older versions are read on the active one (revoked -> replacement);
                # ids the active version does not know at all (Sigma's T1685 from a newer release) cannot be
                # predicted: they are left out of the scores and reported, with what they would cost
                labels = {rule: {current.get(t, t) for t in tags} for rule, tags in labels.items()}
                labels, unknown = scoring.split_unknown(labels, current)
                for level in ("technique", "parent", "labelled"):
                    rows.append((corpus, level, scoring.score(labels, predicted, level)))
                curve += [(corpus, *point) for point in scoring.curve(
                    labels, inferred, sorted({*CURVE_THRESHOLDS, threshold}))]
                if unknown:
                    counted = {r: labels.get(r, set()) | tags for r, tags in unknown.items()}
                    with_unknown = scoring.score({**labels, **counted}, predicted)
                    ids = sorted({t for tags in unknown.values() for t in tags})
                    report.append(f"{corpus}: {sum(map(len, unknown.values()))} labels on {len(unknown)} rules "
                                  f"are not in the active ATT&CK version and have no revoked-by replacement "
                                  f"({', '.join(ids)}); not scored. Counted as misses, technique P/R/F1 would be "
                                  f"{with_unknown.precision:.2f}/{with_unknown.recall:.2f}/{with_unknown.f1:.2f}")
                if os.environ.get("DCV_EVAL_DETAILS"):
                    details[corpus] = {"labels": {r: sorted(t) for r, t in labels.items()}, "inferred": found}
                # how far the corpus's own labels follow the events its rules watch: read beside the scores
                parents = {r: {scoring.parent(t) for t in tags} for r, tags in labels.items()}
                lookup = scoring.peer_labels(parents, watched[corpus])
                shared = {r: parents[r] for r in lookup if parents[r]}  # labelled rules sharing an event
                theirs, ours = scoring.score(shared, lookup, "parent"), scoring.score(shared, predicted, "parent")
                report.append(f"{corpus}: its own labels as a lookup, each rule given the parents at least half of "
                              f"the other {corpus} rules on one of its events carry (it reads the labels: not a "
                              f"score), on the {theirs.rules} rules that share an event - parent P/R/F1 "
                              f"{theirs.precision:.2f}/{theirs.recall:.2f}/{theirs.f1:.2f}; ours on the same rules "
                              f"{ours.precision:.2f}/{ours.recall:.2f}/{ours.f1:.2f}")
                missed, wrong = scoring.worst(labels, predicted)
                report.append(f"{corpus}: most missed {missed}; most wrongly claimed {wrong}; "
                              f"rules with a prediction: {sum(1 for r in labels if predicted.get(r))}/{len(labels)}")
        # Google Cloud and Azure corpora, on the same scratch database (lib/evaluation/providers.py)
        more = providers.evaluate(url, cfg.shared_dir, threshold, CURVE_THRESHOLDS, date.today() + timedelta(days=1))
        rows, curve, report = rows + more[0], curve + more[1], report + more[2]
        # last: it switches knowledge sources off and on again in the scratch warehouse
        by_event = event_eval.score(threshold, current)
    finally:
        connection.drop_database(target.url, SCRATCH_DB)
    print(f"\nMapping accuracy, declared tags hidden (confidence >= {threshold}; targets: parent precision >= 0.70,"
          " parent recall >= 0.50, technique F1 >= 0.40)\n")
    print(scoring.table(rows))
    print("(technique: a parent labelled or predicted beside its own sub-technique is implied by it, both sides;"
          " labelled: ids exactly as written)")
    print(f"\nBy confidence threshold (* the one scored above; coverage counts a mapping at {coverage_threshold}, "
          "the dbt var coverage_min_confidence):\n")
    print(scoring.curve_table(curve, threshold))
    print("\n" + "\n".join(report))
    print(f"\nPer CloudTrail event, one EventBridge rule each, against several references (confidence >= {threshold}; "
          "targets: no prediction <= 20%, technique consensus recall >= 0.75, supported precision >= 0.80 technique"
          " / 0.90 parent):\n")
    print(by_event)
    if os.environ.get("DCV_EVAL_DETAILS"):
        details[references.SOURCE] = event_eval.details
        with open(os.environ["DCV_EVAL_DETAILS"], "w", encoding="utf-8") as out:
            json.dump(details, out, indent=1, default=str)
    print(f"\nevaluated in {time.perf_counter() - started:.0f}s")
    return 0
