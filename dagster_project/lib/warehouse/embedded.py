"""The embedded PostgreSQL: pgserver's bundled PostgreSQL 16 under a data directory of the project's own.

pgserver brings the binaries and the root-safe system user; we drive `initdb`/`pg_ctl` ourselves because
pgserver's own start listens on a unix socket only, and BI tools need TCP on 127.0.0.1 (docs/decisions.md).
The server outlives the process that starts it: dbt, Dagster and the tests share it; `dcv db stop` ends it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import stat
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

with warnings.catch_warnings():  # pgserver asks platformdirs for a runtime dir it does not need here
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import (
        PostmasterInfo,
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

SUPERUSER = "postgres"
_SYSTEM_USER_AS_ROOT = "pgserver"  # initdb/pg_ctl refuse to run as root


class EmbeddedServerError(RuntimeError):
    """A one-line, actionable reason the embedded server cannot start or stop."""


@dataclass(frozen=True)
class RunningServer:
    pgdata: Path
    port: int
    pid: int
    recovered: str | None = None  # set when this start found an unclean shutdown and PostgreSQL recovered

    def url(self, database: str) -> str:
        # The unix socket lives in the data directory; libpq takes its directory as `host`.
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.pgdata), safe='/')}&port={self.port}"


def bin_path(name: str) -> Path:
    return POSTGRES_BIN_PATH / name


def _system_user() -> str | None:
    return _SYSTEM_USER_AS_ROOT if os.geteuid() == 0 else None


def _run(args: list[str], timeout: float = 60) -> str:
    user = _system_user()
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, user=user, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EmbeddedServerError(f"{Path(args[0]).name} did not finish within {timeout:.0f}s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise EmbeddedServerError(f"{Path(args[0]).name} failed: {detail[-1] if detail else done.returncode}")
    return done.stdout


def status(pgdata: Path) -> RunningServer | None:
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "postmaster.pid").exists() else None
    if info is None or not info.is_running() or info.port is None:
        return None
    return RunningServer(pgdata=pgdata, port=info.port, pid=info.pid)


def _check_ownership(pgdata: Path) -> None:
    """Refuse a data directory another user owns, before PostgreSQL says something cryptic."""
    expected = _system_user() or pwd.getpwuid(os.geteuid()).pw_name
    owner_uid = pgdata.stat().st_uid
    try:
        owner = pwd.getpwuid(owner_uid).pw_name
    except KeyError:
        owner = f"uid {owner_uid}"
    if owner != expected:
        raise EmbeddedServerError(
            f"data directory {pgdata} is owned by {owner}, but the embedded PostgreSQL runs as {expected}: "
            f"set DCV_HOME to a directory of your own (nothing in {pgdata} was changed)"
        )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _choose_port(pgdata: Path, port: int | None, default: int) -> int:
    """An explicit port must be free; otherwise keep the port this data directory used last, or the default,
    or the next free one after it — so two checkouts can each run their own server without configuration."""
    if port is not None:
        if not _port_free(port):
            raise EmbeddedServerError(
                f"port {port} on 127.0.0.1 is in use by another program: set DCV_PG_PORT to a free port"
            )
        return port
    remembered = pgdata / "dcv_port"
    candidates = [int(remembered.read_text())] if remembered.exists() else []
    candidates += list(range(default, default + 50))
    for candidate in candidates:
        if _port_free(candidate):
            return candidate
    raise EmbeddedServerError(f"ports {default}-{default + 49} on 127.0.0.1 are all in use: set DCV_PG_PORT")


def _prepare_permissions(pgdata: Path) -> None:
    """As root, let the unprivileged system user reach the binaries and its data directory."""
    user = _system_user()
    if user is None:
        return
    ensure_user_exists(user)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(user)
    if not (pgdata / "PG_VERSION").exists() and pgdata.stat().st_uid == os.geteuid():
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)  # a directory we just made; never someone else's


# PostgreSQL's defaults (128 MB buffers, 4 MB per sort or hash) are sized for a small shared host; the warehouse
# joins million-row tables (the daily diff, dbt's marts). Sized to stay well inside the 4 GiB budget on a 2-core
# machine (docs/benchmark.md); an external server is tuned by whoever runs it. Minimal WAL: it feeds no replica,
# and tables dbt rebuilds are then written without WAL in the transaction that creates them (docs/decisions.md).
TUNING = ("-c shared_buffers=512MB -c work_mem=32MB -c maintenance_work_mem=256MB -c effective_cache_size=4GB "
          "-c max_wal_size=4GB -c checkpoint_timeout=15min -c wal_level=minimal -c max_wal_senders=0")


def start(pgdata: Path, port: int | None = None, default_port: int = 54329) -> RunningServer:
    """Start (or reuse) the server. Idempotent; never deletes anything in `pgdata`."""
    running = status(pgdata)
    if running is not None:
        return running
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    _prepare_permissions(pgdata)
    _check_ownership(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        if any(pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{pgdata} is not empty and is not a PostgreSQL data directory: set DCV_HOME to another "
                "directory (nothing in it was changed)"
            )
        _run([str(bin_path("initdb")), "-D", str(pgdata), "-U", SUPERUSER, "--encoding=UTF8",
              "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions"])
    port = _choose_port(pgdata, port, default_port)
    log = pgdata / "server.log"
    # a pid file without its server: the last one died without shutting down (crash, kill -9, power loss)
    unclean = (pgdata / "postmaster.pid").exists()
    log_offset = log.stat().st_size if log.exists() else 0
    options = f"-h 127.0.0.1 -p {port} -k {pgdata} -c fsync=on -c max_connections=200 {TUNING}"
    try:
        _run([str(bin_path("pg_ctl")), "-D", str(pgdata), "-w", "-t", "60", "-l", str(log), "-o", options, "start"])
    except EmbeddedServerError as exc:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise EmbeddedServerError(f"{exc}; server log {log}: {' '.join(tail)}") from exc
    running = status(pgdata)
    if running is None:
        raise EmbeddedServerError(f"PostgreSQL started but wrote no postmaster.pid; see {log}")
    _write_as_server_user(pgdata / "dcv_port", str(port))
    if unclean:
        running = RunningServer(pgdata, running.port, running.pid, recovery_note(pgdata, log, log_offset))
    return running


# what PostgreSQL logs when it starts after an unclean shutdown (crash recovery replays the write-ahead log)
RECOVERY_LINES = ("not properly shut down", "automatic recovery", "redo done", "redo starts", "interrupted")


def recovery_note(pgdata: Path, log: Path, offset: int) -> str:
    """One line for a person: the server had died, what PostgreSQL did about it, and what to do."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    said = [line.split("LOG:", 1)[-1].split(" system usage:")[0].strip() for line in lines
            if any(k in line for k in RECOVERY_LINES)]
    did = "; ".join(said[-2:]) if said else "it started from its last checkpoint"
    return (f"the embedded PostgreSQL under {pgdata} had stopped without a clean shutdown (a crash, kill -9 or "
            f"power loss) and ran crash recovery on this start ({did}): every committed transaction is kept and "
            "anything uncommitted was rolled back; re-run the day(s) whose run was interrupted")


def _write_as_server_user(path: Path, text: str) -> None:
    path.write_text(text)
    user = _system_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def stop(pgdata: Path) -> bool:
    """Stop the server cleanly (fast shutdown: committed data is safe). Returns whether one was running."""
    if status(pgdata) is None:
        return False
    _run([str(bin_path("pg_ctl")), "-D", str(pgdata), "-w", "-t", "60", "-m", "fast", "stop"])
    return True


def psql_path() -> Path:
    """The bundled psql, so `make db-shell` needs no system package."""
    return bin_path("psql")


@contextlib.contextmanager
def temporary_server(pgdata: Path, port: int | None = None):
    """A throwaway server for tests: started here, stopped on exit."""
    server = start(pgdata, port)
    try:
        yield server
    finally:
        stop(pgdata)
