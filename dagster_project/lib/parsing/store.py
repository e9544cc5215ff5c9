"""Parsed logic storage: each distinct configuration -> raw.detection_logic + raw.detection_signals.

Incremental by content hash: only configurations never parsed, or parsed by an older PARSER_VERSION, are
read, from a server-side cursor, and written with COPY in one transaction. Parsing in worker processes was
measured and not kept: on 2 cores, 102k configurations took 9.3 s in one process and 8.5–9.0 s with two
workers, as the writer and PostgreSQL already use the second core (docs/benchmark.md).
"""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from dagster_project.lib.parsing import PARSER_VERSION, ParsedLogic, parse
from dagster_project.lib.warehouse.loader import copy_rows

BATCH_SIZE = 2_000
LOW_CONFIDENCE = 0.5
LOGIC_COLUMNS = ["content_hash", "parser_version", "detection_type", "parse_confidence", "monitored_entities",
                 "trigger_conditions", "actions", "severity", "reason"]
SIGNAL_COLUMNS = ["content_hash", "signal_type", "value", "qualifier"]

# Found in two steps: the anti-join alone, which may run in parallel (a cursor's query cannot), then the
# documents of just those configurations. One cursor over the anti-join read 1M stored configurations to find
# none pending in 3.8 s at 1M; the two steps take 1.4 s (and 6.3 s against 12.4 s when all are pending).
PENDING_SQL = """
create temp table parse_pending on commit drop as
select c.content_hash
from raw.detection_contents c
where c.kind = 'config' and not exists (
    select from raw.detection_logic l where l.content_hash = c.content_hash and l.parser_version = %s
)
"""
PENDING_DOCUMENTS_SQL = """
select c.content_hash, c.detection_type, c.document
from parse_pending p
join raw.detection_contents c on c.content_hash = p.content_hash
order by c.content_hash
"""


@dataclass
class ParseStats:
    parsed: int = 0
    signals: int = 0
    low_confidence: int = 0
    by_type: Counter = field(default_factory=Counter)


def _pending_batches(conn: psycopg.Connection) -> Iterator[list[tuple]]:
    """Contents to (re)parse, from a server-side cursor so memory stays flat however many there are."""
    conn.execute("drop table if exists pg_temp.parse_pending")  # a caller's transaction may parse twice
    conn.execute(PENDING_SQL, (PARSER_VERSION,))
    conn.execute("analyze parse_pending")  # the join below is planned on how many are pending: 10k or 1M
    with conn.cursor(name="dcv_parse_pending") as cur:
        cur.itersize = BATCH_SIZE
        cur.execute(PENDING_DOCUMENTS_SQL)
        while rows := cur.fetchmany(BATCH_SIZE):
            yield rows


def _logic_row(content_hash: str, detection_type: str, logic: ParsedLogic) -> tuple:
    return (content_hash, PARSER_VERSION, detection_type, round(logic.parse_confidence, 2),
            logic.monitored_entities, logic.trigger_conditions, _json_list(logic.actions), logic.severity,
            logic.reason)


def _json_list(values: list) -> str:
    # copy_rows writes a list of scalars as a PostgreSQL array; the column is jsonb, so send JSON text
    return json.dumps(values)


def write_batch(conn: psycopg.Connection, rows: list[tuple], stats: ParseStats) -> None:
    """Parse one batch and replace whatever an older parser wrote for the same hashes (logic and signals go
    together: raw.detection_signals has no foreign key to cascade from, migration 0008)."""
    parsed = [(h, t, parse(t, doc)) for h, t, doc in rows]
    hashes = [h for h, _, _ in parsed]
    conn.execute("delete from raw.detection_signals where content_hash = any(%s)", (hashes,))
    conn.execute("delete from raw.detection_logic where content_hash = any(%s)", (hashes,))
    copy_rows(conn, "raw.detection_logic", LOGIC_COLUMNS, (_logic_row(h, t, logic) for h, t, logic in parsed))
    stats.signals += copy_rows(conn, "raw.detection_signals", SIGNAL_COLUMNS,
                               ((h, s.signal_type, s.value, s.qualifier) for h, _, logic in parsed
                                for s in logic.signals))
    for _, detection_type, logic in parsed:
        stats.parsed += 1
        stats.by_type[detection_type] += 1
        stats.low_confidence += logic.parse_confidence < LOW_CONFIDENCE


def parse_pending(conn: psycopg.Connection) -> ParseStats:
    """Everything pending, in one transaction: readers see the old parse or the new one, never a mix."""
    stats = ParseStats()
    with conn.transaction():
        # every pending row is read, so plan for all of them: a cursor's default (the first 10 %) walked both
        # tables in hash order through their keys, a random read of every stored configuration (1M: 60 s)
        conn.execute("set local cursor_tuple_fraction = 1")
        for rows in _pending_batches(conn):
            write_batch(conn, rows, stats)
    return stats
