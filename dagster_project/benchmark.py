"""`make bench`: the sample organization at scale through the product's own path, measured.

On a scratch database beside the warehouse in use: day 1 is a full build (export -> raw -> parse -> dbt build),
each of the following `days - 1` a daily partition at the sample's ~1 % churn; the query patterns are then
measured over that history. Prints one table and writes a results file
(JSON + Markdown) under $DCV_HOME/bench/.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from dagster_project.defs.detections.collect import export_scans
from dagster_project.lib import sample_org
from dagster_project.lib import settings as settings_mod
from dagster_project.lib.detections.snapshots import SnapshotWriter
from dagster_project.lib.detections.store import previous_scope_digests, previous_versions, store_partition
from dagster_project.lib.parsing.store import parse_pending
from dagster_project.lib.sources.exports import read_export
from dagster_project.lib.warehouse import connection, runtime, scratch

SCRATCH_DB = "dcv_bench"

RAW_BYTES = """select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c
join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'raw' and c.relkind in ('r', 'p')"""

# The spec's own gap view (data-model-seed.md, Step 4), verbatim, for one account.
SPEC_GAPS = """
select count(*) from (
SELECT
    a.id AS account_id, mt.technique_id, mt.name AS technique_name, mt.description, COUNT(dm.id) AS detection_count
FROM accounts a
CROSS JOIN mitre_techniques mt
LEFT JOIN detection_mappings dm ON mt.id = dm.technique_id
    AND dm.detection_id IN (SELECT id FROM detections WHERE account_id = a.id AND status = 'enabled')
WHERE mt.version_id = (SELECT id FROM mitre_versions WHERE is_active = TRUE)
GROUP BY a.id, mt.id, mt.technique_id, mt.name, mt.description
HAVING COUNT(dm.id) = 0
) as spec_view where account_id = %(account_id)s
"""
OUR_GAPS = "select count(*) from marts.v_coverage_gaps_current where account_id = %(account_id)s"


@dataclass
class Run:
    accounts: int
    detections_per_account: int
    figures: dict = field(default_factory=dict)
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, value, target: str = "") -> None:
        self.figures[what] = value
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        self.rows.append((what, shown, target))
        print(f"  {what:<58} {shown:>16}  {target}", flush=True)


def _peak_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child (dbt), in MB (Linux: KB units)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


# The spec's detections table (data-model-seed.md §B) with its indexes; its foreign keys are left out (there
# are no spec accounts/services tables here to reference), which only makes the yardstick faster.
SPEC_DETECTIONS = """
create table bench_spec_detections (
    id uuid primary key default gen_random_uuid(), account_id uuid, service_id integer, detection_type_id integer,
    name varchar(500), raw_config jsonb not null,
    status varchar(20) check (status in ('enabled', 'disabled', 'deprecated')), owner varchar(255), tags text[],
    created_at timestamp default current_timestamp, last_modified timestamp,
    discovered_at timestamp default current_timestamp, version integer default 1,
    previous_version_id uuid references bench_spec_detections (id));
create index on bench_spec_detections (account_id);
create index on bench_spec_detections (status);
create index on bench_spec_detections (service_id);
create index on bench_spec_detections (detection_type_id);
create index on bench_spec_detections (last_modified);
create index on bench_spec_detections using gin (to_tsvector('english', name));
create index on bench_spec_detections (account_id, status)"""


def copy_baseline(url: str, export_dir: Path, *, spec_table: bool) -> tuple[int, float]:
    """The same records, read the same way, COPYed straight into one table: the ingest rate's yardsticks.
    Plain: an unlogged table without indexes (the fastest PostgreSQL takes rows). Spec: the spec's detections
    table with its indexes, as the issue's ~30,800 rows/s baseline was measured."""
    ids: dict[str, int] = {}
    with connection.connect(url) as conn:
        if spec_table:
            for statement in SPEC_DETECTIONS.split(";"):
                conn.execute(statement)
            target = ("copy bench_spec_detections (account_id, service_id, detection_type_id, name, raw_config, "
                      "status, last_modified) from stdin")
        else:
            conn.execute("create unlogged table bench_copy_baseline (account_id text, region text, service text, "
                         "detection_type text, native_id text, name text, document jsonb)")
            target = "copy bench_copy_baseline from stdin"
        now = datetime.now(UTC).replace(tzinfo=None)
        started = time.perf_counter()
        count = 0
        with conn.cursor().copy(target) as copy:
            for r in read_export(export_dir):
                if isinstance(r, dict):
                    document = json.dumps({"api_object": r["api_object"], "related": r.get("related")},
                                          default=str)
                    if spec_table:
                        copy.write_row((uuid.uuid5(uuid.NAMESPACE_OID, r["account_id"]),
                                        ids.setdefault(r["service"], len(ids)),
                                        ids.setdefault(r["detection_type"], len(ids)), r.get("name"), document,
                                        "enabled", now))
                    else:
                        copy.write_row((r["account_id"], r.get("region"), r["service"], r["detection_type"],
                                        r["native_id"], r.get("name"), document))
                    count += 1
        seconds = time.perf_counter() - started
        conn.rollback()
    return count, seconds


def ingest(url: str, export_dir: Path, day: date, snapshot_dir: Path) -> tuple[int, float]:
    """The detections asset's load: the day's records into raw and each account's snapshot file."""
    started = time.perf_counter()
    rejects: list = []
    with connection.connect(url) as conn, connection.connect(url, autocommit=True) as reader:
        known = previous_scope_digests(conn, "export", day)
        scans = export_scans(export_dir, rejects, known, workers=settings_mod.load().read_workers, keep_json=True,
                             versions=previous_versions(reader, "export", day))
        stats = store_partition(conn, day, scans, snapshots=SnapshotWriter(snapshot_dir))
        conn.commit()
    return stats.detections, time.perf_counter() - started


def parse(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    with connection.connect(url) as conn:
        stats = parse_pending(conn)
        conn.commit()
    return stats.parsed, time.perf_counter() - started


def build(url: str, day: date, target: Path, *, seed: bool) -> float:
    """`dbt build` in a process of its own, as the assets run it, into its own target directory (`target`,
    scratch.seeded_target), so that model_seconds reads this build's run_results.json."""
    scratch.seeded_target(target)
    started = time.perf_counter()
    if seed:
        scratch.dbt(url, "seed", "--quiet", "--target-path", str(target), own_process=True)
    scratch.dbt(url, "build", "--quiet", "--target-path", str(target), "--exclude-resource-type", "seed",
                "unit_test", window=(day, day), own_process=True)
    return time.perf_counter() - started


def model_seconds(target: Path) -> dict[str, float]:
    """Each model's time in the last dbt build into `target`, slowest first (its run_results.json): where a
    build goes."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = [(r["unique_id"].rsplit(".", 1)[-1], round(r["execution_time"], 1)) for r in results
              if r["unique_id"].startswith("model.")]
    return dict(sorted(models, key=lambda m: -m[1]))


def timed(conn: psycopg.Connection, query: str, params: dict, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(query, params).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(accounts: int = 1000, detections: int = 1000, spec_timeout_s: int = 120, keep: bool = False,
         days: int = 2) -> int:
    if days < 2:
        raise ValueError(f"--days must be at least 2 (a full build, then daily partitions), not {days}")
    cfg = settings_mod.load()
    target, _ = runtime.prepare(cfg)
    run = Run(accounts, detections)
    out_dir = cfg.home / "bench"
    export_dir = out_dir / "export"
    snapshot_dir, dbt_target = out_dir / "snapshots", out_dir / "dbt-target"
    for stale in (snapshot_dir, dbt_target):
        shutil.rmtree(stale, ignore_errors=True)
    last_day = datetime.now(UTC).date()
    day1 = last_day - timedelta(days=days - 1)
    daily_days = [day1 + timedelta(days=n) for n in range(1, days)]
    print(f"benchmark: {accounts:,} accounts x ~{detections:,} detections, {days} days, on {target.describe()}\n",
          flush=True)
    url = connection.recreate_database(target.url, SCRATCH_DB)
    try:
        scratch.load_attack(url, cfg)
        started = time.perf_counter()
        counts = sample_org.write_export(export_dir, accounts=accounts, detections_per_account=detections, seed=7,
                                         day=day1)
        os.sync()  # the generator's dirty pages are flushed here, not while the ingest is timed
        run.add("sample export written (s)", round(time.perf_counter() - started, 1))
        run.add("detections", counts["detections"])

        copied, copy_s = copy_baseline(url, export_dir, spec_table=False)
        run.add("raw COPY, unlogged table without indexes (rows/s)", round(copied / copy_s))
        spec_copied, spec_copy_s = copy_baseline(url, export_dir, spec_table=True)
        run.add("raw COPY into the spec's detections table + indexes (rows/s)", round(spec_copied / spec_copy_s))
        full_started = time.perf_counter()
        stored, ingest_s = ingest(url, export_dir, day1, snapshot_dir)
        run.add("ingest day 1: export -> raw (rows/s)", round(stored / ingest_s))
        run.add("ingest / COPY into the spec's detections table", round((stored / ingest_s)
                / (spec_copied / spec_copy_s), 2), ">= 0.5")
        run.add("ingest / COPY into an unlogged table without indexes", round((stored / ingest_s)
                / (copied / copy_s), 2))
        parsed, parse_s = parse(url)
        run.add("parse day 1: distinct configurations", parsed)
        run.add("parse day 1 (s)", round(parse_s, 1))
        dbt_s = build(url, day1, dbt_target, seed=True)
        run.add("dbt build day 1 (s)", round(dbt_s, 1))
        full_s = time.perf_counter() - full_started
        run.add("full build: ingest + parse + map + dbt (s)", round(full_s, 1), "<= 300")
        py_mb, child_mb = _peak_mb()
        run.add("peak memory, python / largest child (MB)", f"{py_mb:,.0f} / {child_mb:,.0f}", "<= 4096")

        with connection.connect(url) as conn:
            raw_before = int(conn.execute(RAW_BYTES).fetchone()[0])
            db_before = conn.execute("select pg_database_size(current_database())").fetchone()[0]
            mappings = conn.execute("select count(*) from marts.detection_mappings").fetchone()[0]
        run.add("detection_mappings rows", mappings)

        # days 2..N: one daily partition each, measured alone; one day's time says as much about the hour as the
        # code, so the table gives the median and the results file every day
        partitions = []
        for day in daily_days:
            sample_org.write_export(export_dir, accounts=accounts, detections_per_account=detections, seed=7, day=day)
            os.sync()
            started = time.perf_counter()
            _, ingest_s = ingest(url, export_dir, day, snapshot_dir)
            _, parse_s = parse(url)
            dbt_s = build(url, day, dbt_target, seed=False)
            partitions.append({"day": day.isoformat(), "seconds": round(time.perf_counter() - started, 1),
                               "ingest": round(ingest_s, 1), "parse": round(parse_s, 1), "dbt": round(dbt_s, 1)})
            print(f"daily partition {day}: {partitions[-1]}", flush=True)
        run.figures["daily_partitions"] = partitions
        # the median day (the lower of the middle two when even)
        typical = sorted(partitions, key=lambda p: p["seconds"])[(len(partitions) - 1) // 2]
        run.add("daily partitions measured (the median day is reported)", len(partitions))
        run.add("daily partition at ~1% churn, end to end (s)", typical["seconds"], "<= 30")
        run.add("daily partition: ingest / parse / dbt build (s)",
                f"{typical['ingest']:.1f} / {typical['parse']:.1f} / {typical['dbt']:.1f}")
        run.add("full build / daily partition", round(full_s / typical["seconds"], 1), ">= 10")
        models = model_seconds(dbt_target)
        run.figures["daily_dbt_model_seconds"] = models
        run.add("daily dbt: slowest models (s, on shared cores, last day)",
                ", ".join(f"{name} {seconds}" for name, seconds in list(models.items())[:4]))
        with connection.connect(url) as conn:
            changed = conn.execute("""select coalesce(sum(detections_added + detections_removed
                + detections_modified), 0) from marts.scan_snapshots where scan_day > %s""", (day1,)).fetchone()[0]
            raw_after = int(conn.execute(RAW_BYTES).fetchone()[0])
            db_after = conn.execute("select pg_database_size(current_database())").fetchone()[0]
        per_day = len(partitions)
        run.add("detections changed per day", round(changed / per_day))
        run.add("raw bytes added per day (MB)", round((raw_after - raw_before) / per_day / 2**20, 1))
        run.add("raw bytes added per changed detection (KB)", round((raw_after - raw_before) / 1024 / max(changed, 1), 1))
        run.add("whole database growth per day (MB, marts rebuilt)", round((db_after - db_before) / per_day / 2**20, 1))
        last_files = [p for p in snapshot_dir.glob(f"*/{last_day.isoformat()}/*") if p.is_file()]
        run.add("snapshot files written on the last day (files / MB gzip)",
                f"{len(last_files):,} / {sum(p.stat().st_size for p in last_files) / 2**20:.1f}")

        _queries(run, url, out_dir, spec_timeout_s, days)
    finally:
        if not keep:
            connection.drop_database(target.url, SCRATCH_DB)
    _write(run, out_dir)
    return 0


def _queries(run: Run, url: str, out_dir: Path, spec_timeout_s: int, days: int) -> None:
    from dagster_project.lib.bench import queries

    with connection.connect(url, autocommit=True) as conn:
        params = queries.sample_params(conn)
        results = queries.measure(conn, queries.load_patterns(), params)
        worst = max(results, key=lambda r: r.p95_ms)
        run.add("query patterns measured", len(results))
        run.add(f"slowest pattern p95 (ms): {worst.name}", round(worst.p95_ms, 1), "<= 50")
        run.figures["query_patterns"] = [r.__dict__ for r in results]
        context = (f"{run.accounts:,} accounts x ~{run.detections_per_account:,} detections, after the day-{days} "
                   f"build ({days} scan days of history); "
                   f"{queries.parameters_text(params)}.")
        (out_dir / "query-patterns.md").write_text(queries.render_markdown(results, context, params))
        ours = timed(conn, OUR_GAPS, params, 20)
        run.add("our gaps query, one account, p50 (ms)", round(statistics.median(ours), 2))
        conn.execute("set search_path = marts")
        conn.execute(f"set statement_timeout = '{spec_timeout_s}s'")
        started = time.perf_counter()
        try:
            conn.execute(SPEC_GAPS, params).fetchall()
            spec_ms, bound = (time.perf_counter() - started) * 1000, ""
        except psycopg.errors.QueryCanceled:
            spec_ms, bound = spec_timeout_s * 1000.0, ">"
        run.add("spec's v_coverage_gaps_current, one account (ms)", f"{bound}{spec_ms:,.0f}")
        run.add("spec view / our gaps query", f"{bound}{spec_ms / statistics.median(ours):,.0f}x", ">= 1000x")


def _write(run: Run, out_dir: Path) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"results-{stamp}.json"
    json_path.write_text(json.dumps({"accounts": run.accounts, "detections_per_account": run.detections_per_account,
                                     "figures": run.figures}, indent=2, default=str))
    lines = ["| measure | value | target |", "|---|---:|---|"]
    lines += [f"| {what} | {value} | {target} |" for what, value, target in run.rows]
    (out_dir / f"results-{stamp}.md").write_text("\n".join(lines) + "\n")
    print(f"\nresults: {json_path} (+ .md; query patterns: {out_dir / 'query-patterns.md'})")
