"""`make demo`: a sample organization over two scan days, every asset materialized by real Dagster runs, then
a coverage summary.

Runs on the embedded PostgreSQL unless DCV_DATABASE_URL says otherwise; safe to run again (partitions are
replaced, never duplicated).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.attack import sources
from dagster_project.lib.warehouse import runtime

IN_PROCESS = "execution:\n  config:\n    in_process: {}\n"  # one process: faster on a 2-core laptop

DRIFT = """
select s.scan_day, count(*) as scans, sum(s.total_detections), sum(s.detections_added),
    sum(s.detections_removed), sum(s.detections_modified)
from marts.scan_snapshots as s
where s.collection_source = 'export'
group by s.scan_day order by s.scan_day
"""


def materialize_all(env: dict[str, str], partition: str, log: Path) -> None:
    """Every asset for one daily partition, in one Dagster run (unpartitioned assets are rebuilt with it).
    Dagster's event log goes to `log`; the run is also in the Dagster UI (`make ui`)."""
    bin_dir = Path(sys.executable).parent
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(IN_PROCESS)
    try:
        with log.open("w") as out:
            done = subprocess.run([str(bin_dir / "dagster"), "asset", "materialize", "-m",
                                   "dagster_project.definitions", "--select", "*", "--partition", partition,
                                   "-c", config.name],
                                  env=env, cwd=settings_mod.PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
    finally:
        os.unlink(config.name)
    if done.returncode != 0:
        tail = log.read_text().splitlines()[-25:]
        raise RuntimeError(f"the Dagster run for {partition} failed (full log: {log}):\n" + "\n".join(tail))


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
    target, env = runtime.prepare(cfg)
    env = {**os.environ, **env, "DCV_EXPORT_DIR": str(cfg.export_dir)}
    print(f"warehouse: {target.describe()}")
    env["DCV_ATTACK_SOURCE"] = ",".join(sources.local_attack_sources(cfg, every_version=True))
    last_day = last_day or datetime.now(UTC).date()
    # two scan days, so the history, drift counts and gap dates have something to show
    for day in (last_day - timedelta(days=1), last_day):
        counts = sample_org.write_export(cfg.export_dir, accounts=accounts, detections_per_account=detections,
                                         seed=7, day=day)
        print(f"{day}: sample organization {counts['accounts']} accounts, {counts['detections']} detections "
              f"-> {cfg.export_dir}; materializing every asset ...", flush=True)
        step = time.perf_counter()
        materialize_all(env, day.isoformat(), cfg.home / "logs" / f"demo-{day}.log")
        print(f"{day}: done in {time.perf_counter() - step:.0f}s", flush=True)
    print(drift_table(target.url))
    print(summary.render(target.url, layers_dir=str(cfg.home / "layers")))
    print(f"demo finished in {time.perf_counter() - started:.0f}s; explore with `make ui` or `make db-shell`")
    return 0
