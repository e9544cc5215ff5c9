"""Scratch warehouses for the offline commands (eval, bench): a database beside the one in use, loaded with
ATT&CK and built with dbt exactly as the assets would, then dropped."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.attack import bundle, knowledge, sources, store
from dagster_project.lib.detections.store import AccountScan, store_partition
from dagster_project.lib.parsing.store import parse_pending
from dagster_project.lib.warehouse import connection, dbt_window, migrate


def load_attack(url: str, cfg: settings_mod.Settings) -> None:
    """ATT&CK (offline-friendly source) and the knowledge sources (CTID, TrailDiscover), then activate the loaded
    version."""
    migrate.upgrade(url)
    with connection.connect(url) as conn:
        for ref in sources.local_attack_sources(cfg):
            store.load_bundle(conn, bundle.parse(ref, sources.fetch(ref, "DCV_ATTACK_SOURCE")))
        for ref in sources.knowledge_sources(cfg, cfg.knowledge_source):
            store.load_knowledge(conn, *knowledge.read_source(ref, lambda r: sources.fetch(r, "DCV_KNOWLEDGE_SOURCE")))
        store.activate_if_none(conn, store.loaded_versions(conn))
        conn.commit()


def map_scans(url: str, day: date, scans: Iterable[AccountScan],
              declared_tags: Callable[[dict], list[tuple[str, str]]] | None = None) -> None:
    """Scans stored as one day, parsed, and mapped by the dbt models up to content_technique_mappings: the
    assets' path from configurations to techniques, for the evaluator and the mapping tests."""
    with connection.connect(url) as conn:
        store_partition(conn, day, scans, declared_tags=declared_tags)
        conn.commit()
        parse_pending(conn)
        conn.commit()
    dbt(url, "seed", "--quiet")
    dbt(url, "run", "--quiet", "--select", "+content_technique_mappings")


def seeded_target(target: Path) -> Path:
    """`target` as a dbt target directory of its own that starts from the project's partial parse (unless it
    holds one already), so dbt does not parse the whole project again. A command of its own needs one: dbt
    rewrites its target's manifest.json and run_results.json in place, and in the project's target a concurrent
    reader (the Dagster definitions, another test's dbt command) read half a file or another command's results."""
    target.mkdir(parents=True, exist_ok=True)
    kept = settings_mod.DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    if kept.exists() and not (target / kept.name).exists():
        shutil.copy2(kept, target)
    return target


@functools.cache
def _own_target() -> Path:
    """This process's dbt target directory (seeded_target)."""
    return seeded_target(settings_mod.DBT_PROJECT_DIR / "target" / f"scratch-{os.getpid()}")


def dbt(url: str, *args: str, window: tuple[date, date] | None = None, own_process: bool = False) -> str:
    """Run dbt against `url` (as the assets do, through the PG* environment); raises with dbt's output. dbt
    writes into this process's own target directory unless `args` name one (--target-path).

    In this process by default (dbt's programmatic runner): starting a Python that imports dbt costs ~3.5 s a
    command, which the tests and `make eval` pay dozens of times. own_process: a dbt process of its own, as the
    Dagster assets run it, for `make bench`, which times that path start-up included."""
    if "--target-path" not in args:
        args = (*args, "--target-path", str(_own_target()))
    project = str(settings_mod.DBT_PROJECT_DIR)
    args = (*args, "--project-dir", project, "--profiles-dir", project)
    env = {**os.environ, **connection.client_env(url), **dbt_window.window_env(*(window or ()))}
    if own_process:
        done = subprocess.run([str(Path(sys.executable).parent / "dbt"), *args], env=env, capture_output=True,
                              text=True, check=False)
        ok, output = done.returncode == 0, done.stdout
    else:
        ok, output = _dbt_here(list(args), env)
    if not ok:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{output[-3000:]}")
    return output


def _dbt_here(args: list[str], env: dict[str, str]) -> tuple[bool, str]:
    """dbt's runner in this process with `env` as the environment for the command (dbt reads env_var() and the
    profile from it), then the caller's environment restored."""
    from dbt.cli.main import dbtRunner

    lines: list[str] = []

    def keep(event) -> None:
        if event.info.level in ("info", "warn", "error"):
            lines.append(event.info.msg)

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        result = dbtRunner(callbacks=[keep]).invoke(args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if result.exception is not None:
        lines.append(f"{type(result.exception).__name__}: {result.exception}")
    return result.success, "\n".join(lines)
