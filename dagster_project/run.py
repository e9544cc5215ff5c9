"""`make run` / `dcv run`: your own export directory (DCV_EXPORT_DIR) and/or live AWS (DCV_AWS_ROLE_NAME) ->
every asset for the day(s) in real Dagster runs -> the demo's coverage summary. `dcv summary` prints the
summary of any loaded day.

`materialize_all` is the one way the demo and `dcv run` start a Dagster run: it prints each step as it starts
and ends and keeps Dagster's full log in $DCV_HOME/logs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.detections.snapshots import SnapshotReader
from dagster_project.lib.sources.days import export_configured, plan_days, snapshot_location, utc_today
from dagster_project.lib.warehouse import embedded, runtime

IN_PROCESS = "execution:\n  config:\n    in_process: {}\n"  # one process: faster on a 2-core laptop
MAX_DAYS = 366

# 2026-12-07 07:48:25 +0000 - dagster - DEBUG - __ASSET_JOB - <run id> - <pid> - <step> - STEP_START - ...
_EVENT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - dagster - \w+ - \S+ - [0-9a-f-]{36} - "
                    r"(?:\d+ - )?(?P<step>[^ ]+) - (?P<event>STEP_START|STEP_SUCCESS|STEP_FAILURE|RUN_FAILURE) - "
                    r"(?P<message>.*)$")
_DEPENDENCY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - dagster - ERROR - \S+ - [0-9a-f-]{36} - "
                         r"(?P<step>[^ ]+) - Dependencies for step \S+ (failed|were not executed)")
_TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - ")
_FAILURE_LINE = re.compile(r"^(?:dagster\S*\.)?Failure: (?P<description>.+)$")
_ERROR_LINE = re.compile(r"^[\w.]*(Error|Exception|Failure)\b[^:]*: .+")


class RunFailed(RuntimeError):
    """A Dagster run failed; the message names the step, the reason in one line and the full log."""


class Progress:
    """Reads a Dagster run's console log line by line: prints each step as it starts and ends, and remembers
    why a step failed (a dagster Failure's description, else the last exception line under it)."""

    def __init__(self, echo: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic):
        self.echo, self.clock = echo, clock
        self.started: dict[str, float] = {}
        self.failed: list[str] = []
        self.skipped: list[str] = []
        self.reasons: dict[str, str] = {}
        self._described: set[str] = set()
        self._in_failure: str | None = None

    def _say(self, text: str) -> None:
        self.echo(f"  [{time.strftime('%H:%M:%S')}] {text}")

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        if self._in_failure and not _TIMESTAMPED.match(line):
            self._reason_line(self._in_failure, line.strip())
            return
        self._in_failure = None
        event = _EVENT.match(line)
        if event is None:
            skipped = _DEPENDENCY.match(line)
            if skipped and skipped["step"] not in self.skipped:
                self.skipped.append(skipped["step"])
            return
        step, kind = event["step"], event["event"]
        if kind == "STEP_START":
            self.started[step] = self.clock()
            self._say(f"{step} started")
        elif kind == "STEP_SUCCESS":
            self._say(f"{step} done in {self._elapsed(step):.0f}s")
        elif kind == "STEP_FAILURE":
            self.failed.append(step)
            self._in_failure = step
            self._say(f"{step} FAILED after {self._elapsed(step):.0f}s")

    def _elapsed(self, step: str) -> float:
        now = self.clock()
        return now - self.started.get(step, now)

    def _reason_line(self, step: str, text: str) -> None:
        failure = _FAILURE_LINE.match(text)
        if failure:
            self.reasons[step] = failure["description"]  # a dagster Failure: its one line is the reason
            self._described.add(step)
        elif (step not in self._described and _ERROR_LINE.match(text)
              and "DagsterExecutionStepExecutionError" not in text):
            self.reasons[step] = text  # else the innermost exception line printed under the failure

    def failure_summary(self) -> str:
        if not self.failed:
            return ""
        step = self.failed[0]
        reason = self.reasons.get(step, "see the log")
        more = f" ({len(self.skipped)} later steps not run)" if self.skipped else ""
        return f"step {step} failed: {reason}{more}"


def materialize_all(env: dict[str, str], partition: str, log: Path, echo: Callable[[str], None] = print,
                    select: str = "*") -> None:
    """Every asset (or `select`) for one daily partition, in one Dagster run (unpartitioned assets are rebuilt
    with it).

    Each step is echoed as it starts and ends; Dagster's full log goes to `log` and the run is in the Dagster
    UI (`make ui`). Raises RunFailed naming the failed step and why, in one line plus the log's path.

    A date range runs day by day: `dagster asset materialize --partition-range` needs every selected asset to
    have a single-run backfill policy, which the unpartitioned ATT&CK, parsing and dbt assets do not have."""
    bin_dir = Path(sys.executable).parent
    log.parent.mkdir(parents=True, exist_ok=True)
    progress = Progress(echo)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(IN_PROCESS)
    command = [str(bin_dir / "dagster"), "asset", "materialize", "-m", "dagster_project.definitions",
               "--select", select, "--partition", partition, "-c", config.name]
    try:
        with log.open("w") as out, subprocess.Popen(
                command, env={**env, "PYTHONUNBUFFERED": "1"}, cwd=settings_mod.PROJECT_ROOT, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1) as child:
            assert child.stdout is not None
            try:
                for line in child.stdout:
                    out.write(line)
                    progress.feed(line)
            except KeyboardInterrupt:
                child.terminate()
                child.wait()
                raise
            returncode = child.wait()
    finally:
        os.unlink(config.name)
    if returncode != 0:
        detail = progress.failure_summary()
        if not detail:
            tail = [line for line in log.read_text().splitlines() if line.strip()][-1:]
            detail = tail[0] if tail else f"dagster exited with {returncode}"
        raise RunFailed(f"the Dagster run for {partition} failed: {detail} (full log: {log})")


def run_env(cfg: settings_mod.Settings, child_env: dict[str, str]) -> dict[str, str]:
    """The environment of a Dagster run started by the demo or `dcv run`: the warehouse's and the export
    directory. The ATT&CK bundles are the attack_bundles asset's own choice (lib/attack/sources.attack_sources),
    as in `make ui` and the schedule."""
    return {**os.environ, **child_env, "DCV_EXPORT_DIR": str(cfg.export_dir)}


def day_range(day: date | None, first: date | None, last: date | None, today: date) -> list[date]:
    """The days `dcv run` materializes: --day, or --from..--to (either alone means that one day), else today.
    Raises ValueError with one line for a range that makes no sense."""
    if day is not None and (first is not None or last is not None):
        raise ValueError("give either --day or --from/--to, not both")
    if day is not None:
        first = last = day
    first, last = first or last or today, last or first or today
    if first > last:
        raise ValueError(f"--from {first} is after --to {last}")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"--from {first} --to {last} is {(last - first).days + 1} days; at most {MAX_DAYS} at once")
    if last > today:
        raise ValueError(f"{last} is in the future (today is {today}, UTC)")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _check_sources(cfg: settings_mod.Settings, days: list[date], today: date) -> None:
    snapshots = SnapshotReader(snapshot_location(cfg))
    if not (export_configured(cfg.export_dir) or cfg.aws_scan or cfg.rule_repos
            or any(snapshots.has_day(source, d) for source in ("export", "aws") for d in days)):
        raise ValueError(f"nothing to read: DCV_EXPORT_DIR {cfg.export_dir} does not exist and DCV_AWS_ROLE_NAME "
                         "is not set (point DCV_EXPORT_DIR at an export, docs/export-layout.md)")
    plan_days(cfg, days, today)  # NotThatDay (a ValueError): one line, before any run starts


def _check_manifest() -> None:
    manifest = settings_mod.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.is_file():
        raise ValueError(f"the dbt manifest {manifest} is missing: run `make install` (or `make run`)")


def main(day: date | None = None, first: date | None = None, last: date | None = None) -> int:
    from dagster_project.lib.reports import summary

    cfg = settings_mod.load()
    today = utc_today()
    days = day_range(day, first, last, today)
    _check_sources(cfg, days, today)
    _check_manifest()
    started = time.perf_counter()
    target, child = runtime.prepare(cfg)
    env = run_env(cfg, child)
    print(f"warehouse: {target.describe()}")
    if target.recovered:
        print(f"note: {target.recovered}")
    print(f"sources: DCV_EXPORT_DIR={cfg.export_dir}" + (" + live AWS" if cfg.aws_scan else ""))
    for n, one in enumerate(days, 1):
        print(f"{one}: materializing every asset (day {n} of {len(days)}) ...", flush=True)
        step = time.perf_counter()
        try:
            materialize_all(env, one.isoformat(), cfg.home / "logs" / f"run-{one}.log")
        except RunFailed as exc:
            if cfg.embedded and embedded.status(cfg.pgdata) is None:
                raise RunFailed(f"{exc}; the embedded PostgreSQL stopped during the run: run the same command "
                                "again, which restarts it (crash recovery keeps every committed transaction) "
                                "and loads the day again") from None
            raise
        print(f"{one}: done in {time.perf_counter() - step:.0f}s", flush=True)
    print(summary.render(target.url, layers_dir=str(cfg.home / "layers"), day=days[-1]))
    print(f"run finished in {time.perf_counter() - started:.0f}s; explore with `make ui` or `make db-shell`")
    return 0


def loaded_days(url: str) -> list[date]:
    """The scan days the marts hold (none before the first run)."""
    try:
        with psycopg.connect(url) as conn:
            return [row[0] for row in conn.execute("select distinct scan_day from marts.scan_snapshots order by 1")]
    except psycopg.errors.UndefinedTable:
        return []


def summary_main(day: date | None = None) -> int:
    from dagster_project.lib.reports import summary
    from dagster_project.lib.sources.exports import nearest_days

    cfg = settings_mod.load()
    target, _ = runtime.prepare(cfg)
    days = loaded_days(target.url)
    if not days:
        raise ValueError(f"no day is loaded in {target.describe()}: run `make run` (your export) or `make demo` first")
    if day is not None and day not in days:
        near = ", ".join(d.isoformat() for d in nearest_days(days, day))
        raise ValueError(f"{day} is not loaded (nearest loaded days: {near}); load it with `dcv run --day {day}`")
    print(summary.render(target.url, layers_dir=str(cfg.home / "layers"), day=day or days[-1]))
    return 0
