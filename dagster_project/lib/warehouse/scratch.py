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
    """ATT&CK (offline-friendly source) and the CTID knowledge, then activate the loaded version."""
    migrate.upgrade(url)
    with connection.connect(url) as conn:
        for ref in sources.local_attack_sources(cfg):
            store.load_bundle(conn, bundle.parse(ref, sources.fetch(ref, "DCV_ATTACK_SOURCE")))
        for ref in sources.knowledge_sources(cfg, cfg.knowledge_source):
            store.load_knowledge(conn, knowledge.parse_ctid(ref, sources.fetch(ref, "DCV_KNOWLEDGE_SOURCE")),
                                 "ctid_mappings_explorer")
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


def dbt(url: str, *args: str, window: tuple[date, date] | None = None) -> str:
    """Run dbt against `url` (as the assets do, through the PG* environment); raises with dbt's output. dbt
    writes into this process's own target directory unless `args` name one (--target-path)."""
    if "--target-path" not in args:
        args = (*args, "--target-path", str(_own_target()))
    command = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(settings_mod.DBT_PROJECT_DIR),
               "--profiles-dir", str(settings_mod.DBT_PROJECT_DIR)]
    env = {**os.environ, **connection.client_env(url), **dbt_window.window_env(*(window or ()))}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}")
    return done.stdout
