"""Replay scenarios into raw: a scenario is replaced whole, in one transaction, when its files change.

An unchanged scenario (same sha256 over its files) keeps its rows and its load_seq, so nothing replays it again;
a changed one gets a new load_seq and loses its old matches (cascade), so every pattern replays it once more; one
gone from a folder that was read is deleted. Records go in with COPY.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import psycopg

from dagster_project.lib.replay.scenarios import FolderRead, Scenario
from dagster_project.lib.warehouse import loader

QUARANTINE_SOURCE = "replay_scenarios"
RECORD_COLUMNS = ["scenario_key", "ordinal", "source_file", "event_source", "event_name", "record"]


@dataclass
class LoadStats:
    loaded: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    records: int = 0


def _insert(conn: psycopg.Connection, s: Scenario) -> int:
    conn.execute(
        "insert into raw.replay_scenarios (scenario_key, scenario_source, name, description, technique_ids,"
        " incidents, source_files, provenance, sha256, record_count) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (s.key, s.source, s.name, s.description, s.technique_ids, json.dumps(s.incidents), s.source_files,
         json.dumps(s.provenance), s.sha256, len(s.records)))
    return loader.copy_rows(conn, "raw.replay_scenario_records", RECORD_COLUMNS,
                            ((s.key, r.ordinal, r.source_file, r.event_source, r.event_name, r.record)
                             for r in s.records))


def load_scenarios(conn: psycopg.Connection, reads: list[FolderRead]) -> LoadStats:
    """Bring raw.replay_scenarios in line with the folders read; scenarios of sources not read are kept."""
    stats = LoadStats()
    with conn.transaction():
        sources = [r.source for r in reads]
        stored = dict(conn.execute("select scenario_key, sha256 from raw.replay_scenarios"
                                   " where scenario_source = any(%s)", (sources,)).fetchall())
        current = {s.key for r in reads for s in r.scenarios}
        gone = sorted(set(stored) - current)
        if gone:
            conn.execute("delete from raw.replay_scenarios where scenario_key = any(%s)", (gone,))
            stats.deleted = gone
        for read in reads:
            for s in read.scenarios:
                if stored.get(s.key) == s.sha256:
                    stats.unchanged += 1
                    continue
                if s.key in stored:
                    conn.execute("delete from raw.replay_scenarios where scenario_key = %s", (s.key,))
                    stats.replaced.append(s.key)
                else:
                    stats.loaded.append(s.key)
                stats.records += _insert(conn, s)
    return stats


def quarantine(conn: psycopg.Connection, reads: list[FolderRead], failures: list[tuple[str, str]]) -> int:
    """Every reject of this load (earlier rejects are replaced): the file or record and the reason."""
    rejects = [r for read in reads for r in read.rejects] + [(ref, reason, None) for ref, reason in failures]
    return loader.quarantine(conn, QUARANTINE_SOURCE, None, rejects)
