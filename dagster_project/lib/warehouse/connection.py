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

    def describe(self) -> str:
        where = "embedded PostgreSQL" if self.embedded else "external PostgreSQL"
        return f"{where} {redact(self.url)}"


def redact(url: str) -> str:
    """Never print a password: postgresql://user:secret@host -> postgresql://user:***@host."""
    url = re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)
    return re.sub(r"(password=)[^&\s]+", r"\1***", url)


def _where(url: str) -> str:
    params = conninfo.conninfo_to_dict(url)
    host = params.get("host") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    return f"{host}:{port}"


def explain(exc: psycopg.Error, url: str, variable: str) -> WarehouseConfigError:
    """Turn a driver error into one line naming what is wrong and what to set."""
    text = str(exc).strip()
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


def connect(url: str, *, variable: str = "DCV_DATABASE_URL", autocommit: bool = False, **kwargs) -> psycopg.Connection:
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
        dagster_url = os.environ.get("DCV_DAGSTER_DATABASE_URL") or cfg.database_url
        return Target(url=cfg.database_url, dagster_url=dagster_url, embedded=False)
    server = (embedded.start(cfg.pgdata, cfg.pg_port, settings_mod.DEFAULT_PG_PORT) if start
              else embedded.status(cfg.pgdata))
    if server is None:
        raise WarehouseConfigError(f"the embedded PostgreSQL under {cfg.pgdata} is not running: run `make db-start`")
    for name in (settings_mod.WAREHOUSE_DB, settings_mod.DAGSTER_DB):
        ensure_database(server.url("postgres"), name)
    return Target(url=server.url(settings_mod.WAREHOUSE_DB), dagster_url=server.url(settings_mod.DAGSTER_DB),
                  embedded=True)


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
