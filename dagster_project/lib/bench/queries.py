r"""Common query patterns against the marts, their plans and their latency.

Pure Python + psycopg (no Dagster): `load_patterns` reads query_patterns.yaml, `sample_params` picks
realistic parameter values from the warehouse, `measure` times every pattern (read-only, rolled back) and
reads the indexes its plan uses, and `render_markdown` writes the body of docs/query-patterns.md.

The SQL uses psql variables (`:'account_id'`), so a pattern pastes into psql after `\set account_id '...'`
as the docs show it; for timing, each variable becomes a psycopg parameter (`psycopg_sql`).

    python -m dagster_project.lib.bench.queries [URL]   # prints the markdown (URL: `dcv db url`)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql as pgsql

PATTERNS_FILE = Path(__file__).with_name("query_patterns.yaml")
SEQ_SCAN_ROWS = 10_000  # a seq scan on a table larger than this is worth noting


PSQL_VARIABLE = re.compile(r":'(\w+)'")


def psycopg_sql(sql: str) -> str:
    """psql's quoted variables (`:'day'`) as psycopg named parameters (`%(day)s`)."""
    return PSQL_VARIABLE.sub(r"%(\1)s", sql)


def psql_set_lines(names: list[str], params: dict[str, Any]) -> list[str]:
    r"""`\set` lines that give psql the values of `names`."""
    return ["\\set " + name + " " + "'" + str(params[name]).replace("'", "''") + "'" for name in names]


@dataclass(frozen=True)
class Pattern:
    name: str
    question: str
    sql: str

    @property
    def params(self) -> list[str]:
        """The psql variables the SQL uses, in order of first use."""
        return list(dict.fromkeys(PSQL_VARIABLE.findall(self.sql)))


@dataclass(frozen=True)
class Result:
    name: str
    question: str
    sql: str
    p50_ms: float
    p95_ms: float
    rows: int
    indexes: list[str] = field(default_factory=list)
    runs: int = 0


def load_patterns(path: Path = PATTERNS_FILE) -> list[Pattern]:
    doc = yaml.safe_load(path.read_text())
    patterns = [Pattern(name=p["name"], question=" ".join(p["question"].split()), sql=p["sql"].strip())
                for p in doc["patterns"]]
    names = [p.name for p in patterns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate query pattern names in {path.name}: {', '.join(duplicates)}")
    return patterns


def default_params(today: dt.date | None = None) -> dict[str, Any]:
    """Placeholder values of every parameter: valid types, no data needed (for EXPLAIN on an empty schema)."""
    today = today or dt.date.today()
    return {
        "account_id": uuid.UUID(int=0),
        "organization_id": "o-example",
        "technique_id": "T1098",
        "tactic_id": "TA0006",
        "day": today,
        "change_day": today,
        "detection_key": "0" * 32,
        "search": "root login",
        "rare_search": "passwordpolicy",
        "min_confidence": 0.5,
        "max_coverage_pct": 50,
    }


def _one(conn: psycopg.Connection, query: str, params: dict | None = None) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def sample_params(conn: psycopg.Connection) -> dict[str, Any]:
    """Realistic values from the data: the account with most current detections, its most-mapped technique,
    the latest coverage day, a day with detection changes, the detection with most versions, and so on.
    Values the data cannot provide keep default_params()."""
    params = default_params()
    account = _one(conn, """
        select account_id from marts.detections
        where is_current and account_id is not null
        group by account_id order by count(*) desc, account_id limit 1""")
    if account is None:
        return params
    params["account_id"] = account
    org = _one(conn, "select organization_id from marts.accounts where id = %(a)s", {"a": account})
    if org:
        params["organization_id"] = org
    technique = _one(conn, """
        select m.attack_technique_id
        from marts.detection_mappings m join marts.detections d on d.id = m.detection_id and d.is_current
        where d.account_id = %(a)s and m.attack_technique_id is not null
        group by m.attack_technique_id
        order by bool_or(exists (select 1 from marts.coverage_history h
                                 where h.account_id = %(a)s and h.technique_id = m.technique_id)) desc,
                 count(*) desc, m.attack_technique_id
        limit 1""", {"a": account})
    if technique:
        params["technique_id"] = technique
    day = _one(conn, "select max(calculated_at)::date from marts.coverage_scores")
    if day:
        params["day"] = day
    change_day = _one(conn, """
        select max(day) from (
            select valid_from as day from marts.detections where account_id = %(a)s
            union all
            select valid_to from marts.detections where account_id = %(a)s) days""", {"a": account})
    if change_day:
        params["change_day"] = change_day
    key = _one(conn, """
        select detection_key from marts.detections where account_id = %(a)s
        group by detection_key order by count(*) desc, detection_key limit 1""", {"a": account})
    if key:
        params["detection_key"] = key
    tactic = _one(conn, """
        select t.tactic_id from marts.coverage_scores s join marts.mitre_tactics t on t.id = s.tactic_id
        where s.calculated_at = %(day)s
        group by t.tactic_id order by avg(s.coverage_percentage), t.tactic_id limit 1""",
                  {"day": params["day"]})
    if tactic:
        params["tactic_id"] = tactic
    names = conn.execute("""
        select name from marts.detections where account_id = %(a)s and is_current and name is not null
        order by name limit 5000""", {"a": account}).fetchall()
    words = Counter(w.lower() for (name,) in names for w in re.findall(r"\b[A-Za-z]{4,}\b", name))
    if words:
        params["search"] = min(words.items(), key=lambda item: (-item[1], item[0]))[0]
        params["rare_search"] = min(words.items(), key=lambda item: (item[1], item[0]))[0]
    return params


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def _table_rows(conn: psycopg.Connection, schema: str, table: str, cache: dict[str, float]) -> float:
    key = f"{schema}.{table}"
    if key not in cache:
        estimate = _one(conn, """
            select c.reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = %(s)s and c.relname = %(t)s""", {"s": schema, "t": table})
        if estimate is None or estimate < 0:  # never analyzed: count
            ident = pgsql.Identifier(schema, table)
            estimate = _one(conn, pgsql.SQL("select count(*) from {}").format(ident))
        cache[key] = float(estimate or 0)
    return cache[key]


def plan_indexes(conn: psycopg.Connection, sql: str, params: dict[str, Any],
                 table_rows: dict[str, float] | None = None) -> list[str]:
    """Index names in the plan, plus "Seq Scan on <table>" for seq scans of tables over SEQ_SCAN_ROWS rows."""
    table_rows = {} if table_rows is None else table_rows
    plan = conn.execute("explain (format json, verbose) " + psycopg_sql(sql), params).fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    found: list[str] = []
    for node in _plan_nodes(plan[0]["Plan"]):
        if "Index Name" in node:
            found.append(node["Index Name"])
        if node.get("Node Type") == "Seq Scan":
            schema, table = node.get("Schema", "marts"), node["Relation Name"]
            if _table_rows(conn, schema, table, table_rows) > SEQ_SCAN_ROWS:
                found.append(f"Seq Scan on {table}")
    return list(dict.fromkeys(found))


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def measure(conn: psycopg.Connection, patterns: list[Pattern], params: dict[str, Any],
            runs: int = 20) -> list[Result]:
    """Each pattern: one warm-up run, then `runs` timed runs (execute + fetch), in a read-only transaction
    that is rolled back."""
    results = []
    table_rows: dict[str, float] = {}
    for pattern in patterns:
        args = {k: params[k] for k in pattern.params}
        query = psycopg_sql(pattern.sql)
        with conn.transaction(force_rollback=True):
            conn.execute("set transaction read only")
            indexes = plan_indexes(conn, pattern.sql, args, table_rows)
            rows = len(conn.execute(query, args).fetchall())  # warm-up
            timings = []
            for _ in range(runs):
                start = time.perf_counter()
                rows = len(conn.execute(query, args).fetchall())
                timings.append((time.perf_counter() - start) * 1000)
        results.append(Result(name=pattern.name, question=pattern.question, sql=pattern.sql,
                              p50_ms=statistics.median(timings), p95_ms=_percentile(timings, 95),
                              rows=rows, indexes=indexes, runs=runs))
    return results


def _indexes_text(indexes: list[str]) -> str:
    return ", ".join(f"`{i}`" for i in indexes) if indexes else "none (small tables read sequentially)"


def parameters_text(params: dict) -> str:
    """The sampled parameters, so a reader can re-run a pattern on the same rows."""
    return "parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


PASTE_NOTE = ("Each query starts with the `\\set` lines of the values it was measured with: paste the block into psql "
              "(`make db-shell`) as it is, or give your own values. In a BI tool, write the value where `:'name'` "
              "stands (`:'day'` -> `'2026-12-13'`).")


def render_markdown(results: list[Result], context: str, params: dict[str, Any] | None = None) -> str:
    r"""The body of docs/query-patterns.md: a summary table, then each pattern with its SQL and plan. With
    `params`, each SQL block starts with the `\set` lines of the values measured: paste it into psql as it is."""
    lines = ["# Query patterns", "", context.strip(), ""]
    if params:
        lines += [PASTE_NOTE, ""]
    lines += ["| # | Pattern | p50 ms | p95 ms | Rows | Indexes used |",
             "|---:|---|---:|---:|---:|---|"]
    for n, r in enumerate(results, 1):
        used = ", ".join(f"`{i}`" for i in r.indexes) or "-"
        lines.append(f"| {n} | [{r.name}](#{r.name.replace('_', '-')}) | {r.p50_ms:.2f} | {r.p95_ms:.2f} "
                     f"| {r.rows} | {used} |")
    for r in results:
        names = list(dict.fromkeys(PSQL_VARIABLE.findall(r.sql)))
        sets = psql_set_lines(names, params) if params else []
        lines += ["", f"## {r.name}", "", f"**Question:** {r.question}", "", "```sql", *sets, r.sql.strip(), "```", "",
                  f"- Indexes used: {_indexes_text(r.indexes)}",
                  f"- Latency: p50 {r.p50_ms:.2f} ms, p95 {r.p95_ms:.2f} ms over {r.runs} runs; "
                  f"{r.rows} rows returned"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        url = argv[1]
    else:
        from dagster_project.lib.warehouse import connection

        url = connection.resolve(start=False).url
    with psycopg.connect(url, autocommit=True) as conn:
        params = sample_params(conn)
        results = measure(conn, load_patterns(), params)
    sys.stdout.write(render_markdown(results, f"Measured with {parameters_text(params)}.", params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
