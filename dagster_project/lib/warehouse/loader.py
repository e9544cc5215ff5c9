"""Bulk writes: COPY, never row-by-row INSERT; a partition is replaced in one transaction.

A reader sees the old partition or the new one, never half of either; a crash rolls back to the old.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

from dagster_project.lib.warehouse.storable import escape_nul

MAX_QUARANTINE_PAYLOAD = 20_000


def _ident(qualified: str) -> sql.Composable:
    return sql.Identifier(*qualified.split("."))


def to_copy_value(value: Any) -> Any:
    """A dict, or a list holding dicts, becomes JSON text (COPY casts it to jsonb); a list of scalars stays a
    list (psycopg writes a PostgreSQL array); everything else passes through."""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
        return json.dumps(value, separators=(",", ":"), default=str)
    return value


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    stmt = sql.SQL("copy {} ({}) from stdin").format(_ident(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    count = 0
    with conn.cursor().copy(stmt) as copy:
        for row in rows:
            copy.write_row([to_copy_value(v) for v in row])
            count += 1
    return count


def _where(match: Mapping[str, Any]) -> tuple[sql.Composable, list[Any]]:
    clauses = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in match]
    return sql.SQL(" and ").join(clauses), list(match.values())


def replace_rows(conn: psycopg.Connection, table: str, match: Mapping[str, Any], columns: Sequence[str],
                 rows: Iterable[Sequence[Any]]) -> int:
    """Delete the rows matching `match` (e.g. a partition) and COPY `rows`, atomically."""
    where, params = _where(match)
    with conn.transaction():
        conn.execute(sql.SQL("delete from {} where {}").format(_ident(table), where), params)
        return copy_rows(conn, table, columns, rows)


def quarantine(conn: psycopg.Connection, source: str, partition_date: date | None,
               rejects: Iterable[tuple[str, str, str | None]]) -> int:
    """Record rejected inputs (object_ref, reason, payload); replaces earlier rejects of the same load. A NUL
    character (a binary excerpt, a truncated gzip) is stored escaped as `\\x00`: PostgreSQL text cannot hold one."""
    rows = [(source, partition_date, escape_nul(ref), escape_nul(reason),
             escape_nul((payload or "")[:MAX_QUARANTINE_PAYLOAD]) or None)
            for ref, reason, payload in rejects]
    with conn.transaction():
        if partition_date is None:
            conn.execute("delete from raw.quarantine where source = %s and partition_date is null", (source,))
        else:
            conn.execute("delete from raw.quarantine where source = %s and partition_date = %s",
                         (source, partition_date))
        return copy_rows(conn, "raw.quarantine", ["source", "partition_date", "object_ref", "reason", "payload"], rows)
