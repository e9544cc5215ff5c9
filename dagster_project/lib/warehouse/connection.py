"""Which PostgreSQL is in use, and connecting to it with errors a person can act on.

Embedded by default (lib/warehouse/embedded.py); `DCV_DATABASE_URL` or the PG* variables select an external
server, in which case nothing is started.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg
from psycopg import conninfo, sql
from sqlalchemy.engine import URL

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.warehouse import embedded


class WarehouseConfigError(RuntimeError):
    """Configuration that cannot work, stated in one line with what to change."""


@dataclass(frozen=True)
class Target:
    url: str  # the warehouse database
    dagster_url: str  # the Dagster instance's storage
    embedded: bool
    recovered: str | None = None  # the embedded server recovered from an unclean shutdown when it was started

    def describe(self) -> str:
        where = "embedded PostgreSQL" if self.embedded else "external PostgreSQL"
        return f"{where} {redact(self.url)}"


def redact(url: str) -> str:
    """Never print a password: postgresql://user:secret@host -> postgresql://user:***@host."""
    # up to the last '@' of the authority: a password may hold an unescaped '@' (check_database_url refuses it,
    # but a URL from elsewhere may not have been checked)
    url = re.sub(r"(//[^:/@]*:)[^?]*@", r"\1***@", url)
    url = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]+)", r"\1***", url)
    return url


def _where(url: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    return f"{host}:{port}"


def explain(exc: psycopg.Error, url: str, variable: str) -> WarehouseConfigError:
    """Turn a driver error into one line naming what is wrong and what to set."""
    text = str(exc).strip()
    password = conninfo.conninfo_to_dict(url).get("password") or os.environ.get("PGPASSWORD")
    if password:
        text = text.replace(password, "***")
    where = _where(url)
    user = conninfo.conninfo_to_dict(url).get("user") or os.environ.get("PGUSER") or "(default user)"
    if "password authentication failed" in text or "no password supplied" in text:
        msg = f"PostgreSQL at {where} rejected the password for user {user}: fix the password in {variable}"
    elif "does not exist" in text and "database" in text:
        msg = f"PostgreSQL at {where} has no such database ({text.splitlines()[0]}): create it or fix {variable}"
    elif "role" in text and "does not exist" in text:
        msg = f"PostgreSQL at {where} has no user {user}: fix the user in {variable}"
    elif "timeout" in text.lower():
        msg = f"PostgreSQL at {where} did not answer within the connect timeout: check host, port and firewall in {variable}"
    else:
        msg = f"cannot reach PostgreSQL at {where} ({text.splitlines()[0] if text else type(exc).__name__}): check {variable}"
    return WarehouseConfigError(msg)


SERVER_GONE = ("server closed the connection unexpectedly", "terminating connection because of crash",
               "unexpected postmaster exit", "terminating connection due to administrator command",
               "the database system is in recovery mode", "the database system is shutting down",
               "consuming input failed", "connection is lost", "the connection is closed")


def server_gone(exc: BaseException) -> bool:
    """Whether an error means the server went away mid-session (crash, kill, restart), not a bad statement."""
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and any(
        k in str(exc) for k in SERVER_GONE)


LOST_SERVER = ("the PostgreSQL server went away during this step ({detail}): nothing this step had not committed "
               "was kept, and committed data is safe (PostgreSQL replays its write-ahead log on restart). Re-run "
               "the day: `dcv run`/`make` restarts the embedded server, which recovers by itself; an external "
               "server is restarted by its operator")


def connect(url: str, *, variable: str = "DCV_DATABASE_URL", autocommit: bool = False, **kwargs) -> psycopg.Connection:
    settings_mod.check_database_url(url, variable)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=5, **kwargs)
    except psycopg.OperationalError as exc:
        raise explain(exc, url, variable) from None


def _with_database(url: str, database: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    params["dbname"] = database
    return conninfo.make_conninfo(**params)


def ensure_database(server_url: str, database: str) -> None:
    """CREATE DATABASE if missing (embedded server only; an external one is provisioned by its owner)."""
    with connect(server_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))


# Databases of the embedded server that only its superuser uses: PUBLIC (so bi_reader) may not connect to them.
# The warehouse's own grants are migration 0016's.
PRIVATE_DATABASES = (settings_mod.DAGSTER_DB, "postgres", "template1")


def lock_other_databases(server_url: str) -> None:
    """Revoke PUBLIC's CONNECT and TEMPORARY on the embedded server's other databases (idempotent)."""
    with connect(server_url, autocommit=True) as conn:
        present = conn.execute("select datname from pg_database where datname = any(%s)", (list(PRIVATE_DATABASES),))
        for (name,) in present.fetchall():
            conn.execute(sql.SQL("revoke connect, temporary on database {} from public").format(sql.Identifier(name)))


def recreate_database(url: str, database: str) -> str:
    """An empty scratch database beside the one `url` names (schema dumps, evaluation); returns its URL.
    Needs CREATEDB on an external server."""
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    return _with_database(url, database)


def drop_database(url: str, database: str) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))


def resolve(cfg: settings_mod.Settings | None = None, *, start: bool = True) -> Target:
    """The target in use; starts the embedded server (idempotently) unless an external one is configured."""
    cfg = cfg or settings_mod.load()
    if not cfg.embedded:
        assert cfg.database_url is not None
        dagster_url = cfg.database_url
        if os.environ.get("DCV_DAGSTER_DATABASE_URL"):
            dagster_url = settings_mod.check_database_url(os.environ["DCV_DAGSTER_DATABASE_URL"],
                                                          "DCV_DAGSTER_DATABASE_URL")
        return Target(url=cfg.database_url, dagster_url=dagster_url, embedded=False)
    server = (embedded.start(cfg.pgdata, cfg.pg_port, settings_mod.DEFAULT_PG_PORT) if start
              else embedded.status(cfg.pgdata))
    if server is None:
        raise WarehouseConfigError(f"the embedded PostgreSQL under {cfg.pgdata} is not running: run `make db-start`")
    for name in (settings_mod.WAREHOUSE_DB, settings_mod.DAGSTER_DB):
        ensure_database(server.url("postgres"), name)
    lock_other_databases(server.url("postgres"))
    return Target(url=server.url(settings_mod.WAREHOUSE_DB), dagster_url=server.url(settings_mod.DAGSTER_DB),
                  embedded=True, recovered=server.recovered)


def sqlalchemy_url(url: str) -> str:
    """dagster-postgres and Alembic speak SQLAlchemy; with SQLAlchemy 2.1 the driver must be named."""
    params = conninfo.conninfo_to_dict(url)
    host, port = params.get("host"), params.get("port")
    socket_dir = bool(host and host.startswith("/"))  # a socket directory goes in the query string
    return URL.create(
        "postgresql+psycopg2",
        username=params.get("user"),
        password=params.get("password"),
        host=None if socket_dir else host,
        port=int(port) if port and not socket_dir else None,
        database=params.get("dbname"),
        query={"host": host, "port": port} if socket_dir else {},
    ).render_as_string(hide_password=False)


def client_env(url: str) -> dict[str, str]:
    """libpq PG* variables for the target: read by dbt's profiles.yml and by psql."""
    params = conninfo.conninfo_to_dict(url)
    mapping = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    env = {var: str(params[key]) for key, var in mapping.items() if params.get(key)}
    for var in mapping.values():  # an empty URL means "take them from the environment"
        if var not in env and os.environ.get(var):
            env[var] = os.environ[var]
    env.setdefault("PGDATABASE", settings_mod.WAREHOUSE_DB)
    return env
