"""coverage_history as one table or as monthly range partitions: query latency and retention, measured.

A year of daily history for `accounts` x `techniques` covered rows a day is written twice into a scratch
schema, once as coverage_history is built today (one table, its indexes) and once partitioned by month on
`timestamp` (the same indexes; the primary key then has to include `timestamp`). Then, on each:
- the three questions the query patterns ask of the history (one account's technique over the year, one
  account's latest day, a day's covered techniques across the organization), p50/p95 over `runs`;
- retention: what the daily run does today (delete the day past retention), the same for a whole month, and
  dropping the month's partition.

    make bench-partitioning [BENCH_ACCOUNTS=20 BENCH_TECHNIQUES=200]   # a year, on the warehouse in use
    python -m dagster_project.lib.bench.partitioning [URL [ACCOUNTS TECHNIQUES DAYS]]

It works in a schema of its own (`bench_partitioning`), dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time

import psycopg

from dagster_project.lib.bench.queries import _percentile

SCHEMA = "bench_partitioning"

COLUMNS = """
    id uuid not null,
    account_id uuid not null,
    technique_id bigint not null,
    snapshot_id uuid,
    detection_count integer,
    coverage_score numeric(3, 2),
    "timestamp" timestamp not null,
    attack_technique_id varchar(20),
    is_covered boolean not null
"""

INDEXES = [
    "create unique index {t}_account_id_technique_id_timestamp_key on {s}.{t} (account_id, technique_id, \"timestamp\")",
    "create index {t}_technique_id_idx on {s}.{t} (technique_id)",
    "create index {t}_timestamp_is_covered_idx on {s}.{t} (\"timestamp\", is_covered, technique_id, attack_technique_id)",
]

QUERIES = {
    "one account's technique over the year": """
        select "timestamp", coverage_score, detection_count from {s}.{t}
        where account_id = %(account)s and technique_id = %(technique)s order by "timestamp" """,
    "one account's latest day": """
        select technique_id, coverage_score from {s}.{t}
        where account_id = %(account)s and "timestamp" = %(day)s""",
    "a day's covered techniques, organization-wide": """
        select attack_technique_id, count(*) from {s}.{t}
        where "timestamp" = %(day)s and is_covered group by 1 order by 2 desc limit 25""",
}


def _fill(conn: psycopg.Connection, table: str, accounts: int, techniques: int, first: dt.date, days: int) -> None:
    conn.execute(f"""
        insert into {SCHEMA}.{table}
        select
            md5(a::text || '|' || t::text || '|' || d::text)::uuid,
            md5('account' || a::text)::uuid,
            t,
            md5('scan' || a::text || d::text)::uuid,
            1 + (a + t + d) %% 4,
            case when (a + t) %% 5 = 0 then 0.5 else 1 end,
            %(first)s::date + d,
            'T' || (1000 + t),
            (a + t) %% 5 <> 0
        from generate_series(1, %(accounts)s) as a, generate_series(1, %(techniques)s) as t,
            generate_series(0, %(days)s - 1) as d""",
                 {"first": first, "accounts": accounts, "techniques": techniques, "days": days})


def build(conn: psycopg.Connection, accounts: int, techniques: int, days: int, first: dt.date) -> dict[str, float]:
    seconds = {}
    conn.execute(f"drop schema if exists {SCHEMA} cascade")
    conn.execute(f"create schema {SCHEMA}")
    conn.execute(f"create table {SCHEMA}.plain ({COLUMNS}, primary key (id))")
    conn.execute(f'create table {SCHEMA}.monthly ({COLUMNS}, primary key (id, "timestamp")) '
                 f'partition by range ("timestamp")')
    month = first.replace(day=1)
    while month <= first + dt.timedelta(days=days):
        following = (month + dt.timedelta(days=32)).replace(day=1)
        conn.execute(f"create table {SCHEMA}.monthly_{month:%Y_%m} partition of {SCHEMA}.monthly "
                     f"for values from ('{month}') to ('{following}')")
        month = following
    for table in ("plain", "monthly"):
        for index in INDEXES:
            conn.execute(index.format(s=SCHEMA, t=table))
        start = time.perf_counter()
        _fill(conn, table, accounts, techniques, first, days)
        conn.execute(f"analyze {SCHEMA}.{table}")
        seconds[table] = time.perf_counter() - start
    return seconds


def latencies(conn: psycopg.Connection, table: str, params: dict, runs: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name, query in QUERIES.items():
        sql = query.format(s=SCHEMA, t=table)
        conn.execute(sql, params).fetchall()
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            conn.execute(sql, params).fetchall()
            timings.append((time.perf_counter() - start) * 1000)
        out[name] = (statistics.median(timings), _percentile(timings, 95))
    return out


def _timed(conn: psycopg.Connection, *statements: str) -> float:
    start = time.perf_counter()
    with conn.transaction():
        for statement in statements:
            conn.execute(statement)
    return time.perf_counter() - start


def retention(conn: psycopg.Connection, first: dt.date) -> dict[str, float]:
    month_end = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return {
        "delete the day past retention (today's daily prune), one table":
            _timed(conn, f"delete from {SCHEMA}.plain where \"timestamp\" < '{first + dt.timedelta(days=1)}'"),
        "delete a month, one table":
            _timed(conn, f"delete from {SCHEMA}.plain where \"timestamp\" < '{month_end}'"),
        "vacuum after that month's delete, one table":
            _vacuum(conn, "plain"),
        "drop the month's partition":
            _timed(conn, f"alter table {SCHEMA}.monthly detach partition {SCHEMA}.monthly_{first:%Y_%m}",
                   f"drop table {SCHEMA}.monthly_{first:%Y_%m}"),
    }


def _vacuum(conn: psycopg.Connection, table: str) -> float:
    start = time.perf_counter()
    conn.execute(f"vacuum {SCHEMA}.{table}")
    return time.perf_counter() - start


def run(url: str, accounts: int = 20, techniques: int = 200, days: int = 365, runs: int = 50) -> str:
    first = dt.date(2026, 1, 1)
    with psycopg.connect(url, autocommit=True) as conn:
        built = build(conn, accounts, techniques, days, first)
        rows = conn.execute(f"select count(*) from {SCHEMA}.plain").fetchone()[0]
        sizes = {t: conn.execute(f"select pg_size_pretty(sum(pg_total_relation_size(c.oid))) from pg_class c "
                                 f"join pg_inherits i on i.inhrelid = c.oid where i.inhparent = '{SCHEMA}.{t}'::regclass"
                                 if t == "monthly" else
                                 f"select pg_size_pretty(pg_total_relation_size('{SCHEMA}.{t}'))").fetchone()[0]
                 for t in ("plain", "monthly")}
        account = conn.execute(f"select account_id from {SCHEMA}.plain limit 1").fetchone()[0]
        params = {"account": account, "technique": 7, "day": first + dt.timedelta(days=days - 1)}
        query = {t: latencies(conn, t, params, runs) for t in ("plain", "monthly")}
        kept = retention(conn, first)
        conn.execute(f"drop schema {SCHEMA} cascade")
    lines = [f"{accounts} accounts x {techniques} covered techniques x {days} days = {rows:,} rows "
             f"(one table {sizes['plain']}, partitions {sizes['monthly']}); written in "
             f"{built['plain']:.1f} s / {built['monthly']:.1f} s; p50 / p95 over {runs} runs.", "",
             "| question | one table p50 / p95 (ms) | monthly partitions p50 / p95 (ms) |", "|---|---:|---:|"]
    for name in QUERIES:
        (p50, p95), (q50, q95) = query["plain"][name], query["monthly"][name]
        lines.append(f"| {name} | {p50:.2f} / {p95:.2f} | {q50:.2f} / {q95:.2f} |")
    lines += ["", "| retention step | seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in kept.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1]:
        url = argv[1]
    else:
        from dagster_project.lib.warehouse import connection

        url = connection.resolve(start=False).url
    sizes = [int(a) for a in argv[2:5]]
    sys.stdout.write(run(url, *sizes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
