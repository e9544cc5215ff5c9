"""`make demo`: a sample organization over two scan days (exports/<day>/), every asset materialized by real
Dagster runs (each step printed as it starts and ends), then a coverage summary.

Runs on the embedded PostgreSQL unless DCV_DATABASE_URL says otherwise; safe to run again (partitions are
replaced, never duplicated).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import psycopg

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.warehouse import runtime
from dagster_project.run import materialize_all, run_env

DRIFT = """
select s.scan_day, count(*) as scans, sum(s.total_detections), sum(s.detections_added),
    sum(s.detections_removed), sum(s.detections_modified)
from marts.scan_snapshots as s
where s.collection_source = 'export'
group by s.scan_day order by s.scan_day
"""


def drift_table(url: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute(DRIFT).fetchall()
    lines = ["", "  scan day     accounts  detections  added  removed  modified"]
    lines += [f"  {day}  {scans:>8}  {total:>10}  {added:>5}  {removed:>7}  {modified:>8}"
              for day, scans, total, added, removed, modified in rows]
    return "\n".join(lines)


def main(accounts: int = 5, detections: int = 60, last_day: date | None = None) -> int:
    from dagster_project.lib import sample_org
    from dagster_project.lib.reports import summary

    cfg = settings_mod.load()
    started = time.perf_counter()
    target, child = runtime.prepare(cfg)
    env = run_env(cfg, child)
    print(f"warehouse: {target.describe()}")
    last_day = last_day or datetime.now(UTC).date()
    # two scan days, so the history, drift counts and gap dates have something to show; each day's export in
    # its own dated folder (docs/export-layout.md, "Days"), as a real export would be kept
    days = (last_day - timedelta(days=1), last_day)
    sample_org.prepare_dated_export(cfg.export_dir)
    for day in days:
        counts = sample_org.write_export(cfg.export_dir / day.isoformat(), accounts=accounts,
                                         detections_per_account=detections, seed=7, day=day, clouds=True)
        print(f"{day}: sample organization {counts['accounts']} accounts, {counts['detections']} detections "
              f"-> {cfg.export_dir / day.isoformat()}; materializing every asset ...", flush=True)
        step = time.perf_counter()
        materialize_all(env, day.isoformat(), cfg.home / "logs" / f"demo-{day}.log")
        print(f"{day}: done in {time.perf_counter() - step:.0f}s", flush=True)
    print(drift_table(target.url))
    print(summary.render(target.url, layers_dir=str(cfg.home / "layers"), day=last_day))
    print(f"demo finished in {time.perf_counter() - started:.0f}s; explore with `make ui` or `make db-shell`")
    return 0
