"""Replay: which scenario records each detection pattern matches, keyed by pattern and tested only on candidates.

Work follows distinct patterns, not detections: the same CIS filter pattern in 1,000 accounts is one row of
raw.replay_patterns, replayed once. Each compiled pattern names the (eventSource, eventName) keys it can match
(`candidate_keys`, None = any), and a record is tested only against the patterns indexed under its own keys,
its source with any name, its name with any source, or any: a pattern on iam.amazonaws.com never sees an EC2
record. Incremental: a pattern is replayed against scenarios loaded after its `replayed_through` mark, so a
daily run replays new patterns against every scenario and known patterns against new scenarios only.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from dagster_project.lib.replay.event_pattern_match import (
    PatternError,
    compile_event_pattern,
    eventbridge_envelope,
)
from dagster_project.lib.replay.filter_pattern_match import compile_filter_pattern
from dagster_project.lib.warehouse.loader import copy_rows

# Bump when what a pattern matches may change (the matchers, how records are presented): every pattern replays.
REPLAY_VERSION = "replay-1"
REPLAYABLE_TYPES = ("event_rule", "metric_filter")
EVENT_PATTERN, FILTER_PATTERN = "event_pattern", "filter_pattern"


def pattern_of(detection_type: str, document: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(matcher, pattern text, note) of a configuration. A rule that CloudTrail events cannot reach has no
    pattern and a note saying why; so has a configuration without one."""
    api = document.get("api_object") if isinstance(document.get("api_object"), dict) else document
    if detection_type == "event_rule":
        pattern = api.get("EventPattern")
        if not pattern:
            return None, None, "scheduled rule: no event pattern, so no CloudTrail event triggers it"
        bus = str(api.get("EventBusName") or "default")
        if bus != "default" and not bus.endswith(":event-bus/default"):
            return None, None, (f"rule on event bus {bus}: AWS services deliver CloudTrail events to the default "
                                "bus only")
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern)
            except json.JSONDecodeError:
                return EVENT_PATTERN, pattern, None  # kept as is: compiling it records why it is not a pattern
        kinds = pattern.get("detail-type") if isinstance(pattern, dict) else None
        if isinstance(kinds, list) and kinds and all(isinstance(k, str) for k in kinds) \
                and not any(k.endswith("via CloudTrail") for k in kinds):
            # GuardDuty or Security Hub findings, Config changes...: replaying CloudTrail cannot tell
            return None, None, f"matches {', '.join(kinds)} events, not CloudTrail records: replay cannot tell"
        return EVENT_PATTERN, json.dumps(pattern, sort_keys=True, separators=(",", ":")), None
    if detection_type == "metric_filter":
        pattern = api.get("filterPattern")
        if pattern is None:
            return None, None, "metric filter without a filterPattern"
        return FILTER_PATTERN, str(pattern), None
    return None, None, f"{detection_type} is not replayable (only EventBridge rules and metric filters are)"


def pattern_id(matcher: str, pattern: str) -> str:
    return str(uuid.UUID(hashlib.md5(f"{matcher}\0{pattern}".encode(), usedforsecurity=False).hexdigest()))


class Compiled:
    """A pattern ready to test CloudTrail records: EventBridge patterns see the record as EventBridge delivers it,
    CloudWatch Logs filter patterns the record's JSON as CloudTrail writes it to a log group."""

    def __init__(self, matcher: str, pattern: str) -> None:
        if matcher == EVENT_PATTERN:
            self._m = compile_event_pattern(pattern)
            self.event = True
        else:
            self._m = compile_filter_pattern(pattern)
            self.event = False
        self.candidate_keys = self._m.candidate_keys

    def matches(self, record: ReplayRecord) -> bool:
        if self.event:
            return self._m.matches(record.envelope)
        return self._m.matches(record.record, raw=record.text)


@dataclass
class ReplayRecord:
    scenario_key: str
    load_seq: int
    ordinal: int
    event_source: str
    event_name: str
    record: dict[str, Any] = field(repr=False)

    def __post_init__(self) -> None:
        self.envelope = eventbridge_envelope(self.record)
        self.text = json.dumps(self.record, separators=(",", ":"))


class CandidateIndex:
    """Items filed under (eventSource | None, eventName | None) keys; `candidates` returns the items a record
    with that source and name can match, each once."""

    def __init__(self) -> None:
        self._by_pair: dict[tuple[str, str], list] = defaultdict(list)
        self._by_source: dict[str, list] = defaultdict(list)
        self._by_name: dict[str, list] = defaultdict(list)
        self._any: list = []

    def add(self, item: Any, keys: Iterable[tuple[str | None, str | None]]) -> None:
        for source, name in set(keys):
            if source is not None and name is not None:
                self._by_pair[(source, name)].append(item)
            elif source is not None:
                self._by_source[source].append(item)
            elif name is not None:
                self._by_name[name].append(item)
            else:
                self._any.append(item)

    def candidates(self, event_source: str, event_name: str) -> list:
        found = (self._by_pair.get((event_source, event_name), []) + self._by_source.get(event_source, [])
                 + self._by_name.get(event_name, []) + self._any)
        return list(dict.fromkeys(found)) if len(found) > 1 else found


def replay(patterns: dict[str, tuple[Compiled, int]], records: list[ReplayRecord]) -> tuple[dict, int]:
    """{pattern_id: {scenario_key: [ordinals]}} for every record loaded after the pattern's mark; and the number
    of (pattern, record) tests made."""
    index = CandidateIndex()
    for pid, (compiled, _) in patterns.items():
        index.add(pid, compiled.candidate_keys)
    fired: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    tests = 0
    for rec in records:
        for pid in index.candidates(rec.event_source, rec.event_name):
            compiled, through = patterns[pid]
            if rec.load_seq <= through:
                continue
            tests += 1
            if compiled.matches(rec):
                fired[pid][rec.scenario_key].append(rec.ordinal)
    return fired, tests


@dataclass
class ReplayStats:
    new_contents: int = 0
    patterns_replayed: int = 0
    pattern_errors: int = 0
    records: int = 0
    tests: int = 0
    matches: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


# The fields that decide a configuration's pattern, keyed by an md5 of them: the same CIS filter or rule pattern
# in 1,000 accounts is one key, so Python looks at each distinct pattern once and the rows are written in SQL.
_PATTERN_FIELDS = """
    c.detection_type as replay_type,
    c.document -> 'api_object' ->> 'EventPattern' as event_pattern,
    c.document -> 'api_object' ->> 'EventBusName' as event_bus,
    c.document -> 'api_object' ->> 'filterPattern' as filter_pattern
"""
NEW_CONTENTS_SQL = f"""
create temp table replay_new_contents on commit drop as
select c.content_hash, md5(concat_ws(chr(31), f.replay_type, coalesce(f.event_pattern, chr(30)),
    coalesce(f.event_bus, chr(30)), coalesce(f.filter_pattern, chr(30)))) as pattern_key
from raw.detection_contents c
cross join lateral (select {_PATTERN_FIELDS}) as f
where c.kind = 'config' and c.detection_type = any(%s)
  and not exists (select from raw.replay_contents r where r.content_hash = c.content_hash and r.replay_version = %s)
"""
# one configuration per distinct key is read again for its fields: a few hundred documents, not every one
DISTINCT_PATTERNS_SQL = f"""
select k.pattern_key, {_PATTERN_FIELDS.replace("c.detection_type as replay_type", "c.detection_type")}
from (select distinct on (pattern_key) pattern_key, content_hash from replay_new_contents) as k
join raw.detection_contents c on c.content_hash = k.content_hash
"""


def _register_contents(conn: psycopg.Connection, stats: ReplayStats) -> None:
    """A raw.replay_contents row (and its pattern, once) for every replayable configuration not seen before."""
    conn.execute("delete from raw.replay_contents where replay_version <> %s", (REPLAY_VERSION,))
    conn.execute("drop table if exists pg_temp.replay_new_contents")
    conn.execute(NEW_CONTENTS_SQL, (list(REPLAYABLE_TYPES), REPLAY_VERSION))
    keys, patterns = [], {}
    conn.execute("analyze replay_new_contents")
    for key, detection_type, event_pattern, bus, filter_pattern in conn.execute(DISTINCT_PATTERNS_SQL):
        api = {k: v for k, v in (("EventPattern", event_pattern), ("EventBusName", bus),
                                 ("filterPattern", filter_pattern)) if v is not None}
        matcher, pattern, note = pattern_of(detection_type, {"api_object": api})
        pid = pattern_id(matcher, pattern) if matcher else None
        if pid:
            patterns[pid] = (matcher, pattern)
        keys.append((key, pid, note))
    conn.execute("create temp table replay_pattern_keys (pattern_key text, pattern_id uuid, note text) on commit drop")
    copy_rows(conn, "replay_pattern_keys", ["pattern_key", "pattern_id", "note"], keys)
    if patterns:
        conn.execute("create temp table replay_new_patterns (pattern_id uuid, matcher text, pattern text)"
                     " on commit drop")
        copy_rows(conn, "replay_new_patterns", ["pattern_id", "matcher", "pattern"],
                  ((pid, m, p) for pid, (m, p) in patterns.items()))
        conn.execute("insert into raw.replay_patterns (pattern_id, matcher, pattern, matcher_version)"
                     " select pattern_id, matcher, pattern, %s from replay_new_patterns"
                     " on conflict (pattern_id) do nothing", (REPLAY_VERSION,))
    stats.new_contents = conn.execute(
        "insert into raw.replay_contents (content_hash, pattern_id, note, replay_version)"
        " select c.content_hash, k.pattern_id, k.note, %s from replay_new_contents c"
        " join replay_pattern_keys k using (pattern_key)"
        " on conflict (content_hash) do update set pattern_id = excluded.pattern_id, note = excluded.note,"
        " replay_version = excluded.replay_version, replayed_at = now()", (REPLAY_VERSION,)).rowcount


def _records(conn: psycopg.Connection, after: int) -> list[ReplayRecord]:
    rows = conn.execute(
        "select s.scenario_key, s.load_seq, r.ordinal, r.event_source, r.event_name, r.record"
        " from raw.replay_scenarios s join raw.replay_scenario_records r using (scenario_key)"
        " where s.load_seq > %s order by s.load_seq, r.ordinal", (after,)).fetchall()
    return [ReplayRecord(*row) for row in rows]


def replay_pending(conn: psycopg.Connection) -> ReplayStats:
    """Register new configurations, then replay every pattern against the scenarios it has not seen, in one
    transaction: a reader sees the matches before or after, never half."""
    stats = ReplayStats()
    clock = time.perf_counter()
    with conn.transaction():
        _register_contents(conn, stats)
        stats.seconds["register"] = round(time.perf_counter() - clock, 3)
        # a pattern replayed by other matchers is replayed again from scratch
        conn.execute("delete from raw.replay_pattern_matches m using raw.replay_patterns p"
                     " where m.pattern_id = p.pattern_id and p.matcher_version <> %s", (REPLAY_VERSION,))
        conn.execute("update raw.replay_patterns set matcher_version = %s, replayed_through = 0, error = null"
                     " where matcher_version <> %s", (REPLAY_VERSION, REPLAY_VERSION))
        latest = conn.execute("select coalesce(max(load_seq), 0) from raw.replay_scenarios").fetchone()[0]
        pending = conn.execute("select pattern_id::text, matcher, pattern, replayed_through from raw.replay_patterns"
                               " where replayed_through < %s", (latest,)).fetchall()
        if not pending:
            return stats
        compiled, errors = {}, []
        for pid, matcher, pattern, through in pending:
            try:
                compiled[pid] = (Compiled(matcher, pattern), through)
            except PatternError as exc:
                errors.append((pid, str(exc)))
        stats.patterns_replayed, stats.pattern_errors = len(compiled), len(errors)
        records = _records(conn, min(t for _, _, _, t in pending))
        stats.records = len(records)
        stats.seconds["compile"] = round(time.perf_counter() - clock - stats.seconds["register"], 3)
        started = time.perf_counter()
        fired, stats.tests = replay(compiled, records)
        stats.seconds["match"] = round(time.perf_counter() - started, 3)
        rows = [(pid, key, ordinals) for pid, by_scenario in fired.items() for key, ordinals in by_scenario.items()]
        stats.matches = copy_rows(conn, "raw.replay_pattern_matches", ["pattern_id", "scenario_key",
                                                                       "record_ordinals"], rows)
        conn.execute("create temp table replay_done (pattern_id uuid, error text) on commit drop")
        copy_rows(conn, "replay_done", ["pattern_id", "error"],
                  [(pid, None) for pid in compiled] + errors)
        conn.execute("update raw.replay_patterns p set replayed_through = %s, replayed_at = now(), error = d.error"
                     " from replay_done d where p.pattern_id = d.pattern_id", (latest,))
    stats.seconds["total"] = round(time.perf_counter() - clock, 3)
    return stats
