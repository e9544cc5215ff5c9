"""Backup and restore of the warehouse and the Dagster instance with PostgreSQL's own tools.

`backup` writes a folder `<root>/<UTC timestamp>/` holding
- `warehouse.dump` and `dagster.dump`: `pg_dump --format=custom` of the two databases (pgserver's bundled
  PostgreSQL 16 binaries, the same the embedded server runs); the warehouse is dumped from a snapshot exported by
  the transaction that also counts its rows, so the counts in the manifest are exactly what the dump holds;
- `roles.sql`: `pg_dumpall --roles-only` (roles are cluster-wide, so no database dump has them): the project's
  roles with their attributes and password verifiers (never plain passwords); the folder is private (0700);
- `manifest.json`, written last: what, when, sizes, SHA-256 checksums, versions, row counts per table.
While it runs it holds the warehouse's writer lock (lib/warehouse/writer_lock.py), so no run writes between the
two dumps.

`restore` checks every checksum first, then restores into the warehouse in use (a fresh DCV_HOME starts a fresh
embedded server): the project's roles, then each database, then the database-level privileges, then compares
every table's row count with the manifest. A warehouse that already holds tables is refused unless forced.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.warehouse import connection, embedded, writer_lock

FORMAT = 1
MANIFEST = "manifest.json"
ROLES_FILE = "roles.sql"
# the project's fixed roles (migrations 0001 and later); tenant roles are found as members of bi_tenant
PROJECT_ROLES = ("dcv_ingest", "dcv_transform", "bi_reader", "bi_tenant")
COUNTED_SCHEMAS = ("raw", "app", "marts")


class BackupError(RuntimeError):
    """One line: what is wrong with a backup or a restore, and what to do."""


@dataclass(frozen=True)
class Restored:
    folder: Path
    target: str
    tables: int
    rows: int
    seconds: float


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tool(name: str, args: list[str], url: str, *, timeout: float | None = None) -> str:
    """Run a bundled client program against `url`. The connection goes through PG* variables, so a password
    never appears on a command line (ps) or in an error."""
    env = {**os.environ, **connection.client_env(url)}
    done = subprocess.run([str(embedded.bin_path(name)), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
        raise BackupError(f"{name} failed: {connection.redact(lines[-1] if lines else str(done.returncode))}")
    return done.stdout


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    """Exact row counts of every table and materialized view in raw, app and marts."""
    names = conn.execute("""select n.nspname || '.' || c.relname from pg_class as c
                            join pg_namespace as n on n.oid = c.relnamespace
                            where n.nspname = any(%s) and c.relkind in ('r', 'p', 'm')
                              and (c.relkind <> 'm' or c.relispopulated)
                              and c.relname not like '%%__dbt_backup' and c.relname not like '%%__dbt_tmp'
                            order by 1""", (list(COUNTED_SCHEMAS),)).fetchall()
    counts = {}
    for (name,) in names:
        schema, table = name.split(".", 1)
        query = sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
        counts[name] = conn.execute(query).fetchone()[0]
    return counts


def _database_privileges(conn: psycopg.Connection) -> list[dict] | None:
    """The database's own ACL (CONNECT, TEMP, CREATE grants), which pg_dump leaves out without --create."""
    acl = conn.execute("select datacl is null from pg_database where datname = current_database()").fetchone()[0]
    if acl:
        return None  # PostgreSQL's defaults
    rows = conn.execute("""select case when e.grantee = 0 then 'PUBLIC' else pg_get_userbyid(e.grantee) end,
                                  e.privilege_type
                           from pg_database as d, aclexplode(d.datacl) as e
                           where d.datname = current_database() and e.grantee <> d.datdba
                           order by 1, 2""").fetchall()
    return [{"grantee": grantee, "privilege": privilege} for grantee, privilege in rows]


def _roles(conn: psycopg.Connection) -> list[str]:
    """The project's roles present on the server: the fixed ones and every tenant role (a member of bi_tenant)."""
    return [r[0] for r in conn.execute("""
        select rolname from pg_roles where rolname = any(%(fixed)s)
        union
        select m.rolname from pg_auth_members as am
        join pg_roles as g on g.oid = am.roleid and g.rolname = 'bi_tenant'
        join pg_roles as m on m.oid = am.member
        where not m.rolsuper
        order by 1""", {"fixed": list(PROJECT_ROLES)}).fetchall()]


def _versions(conn: psycopg.Connection) -> dict[str, str | None]:
    import dagster

    pg_dump = subprocess.run([str(embedded.bin_path("pg_dump")), "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
    revision = None
    if conn.execute("select to_regclass('public.dcv_alembic_version')").fetchone()[0]:
        revision = conn.execute("select version_num from public.dcv_alembic_version").fetchone()[0]
    return {"server": conn.execute("show server_version").fetchone()[0], "pg_dump": pg_dump,
            "schema_revision": revision, "dagster": dagster.__version__}


def _dump_file(folder: Path, name: str, url: str, snapshot: str | None = None) -> dict:
    path = folder / f"{name}.dump"
    args = ["--format=custom", "--no-password", f"--file={path}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    started = time.perf_counter()
    _tool("pg_dump", args, url)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path),
            "database": psycopg.conninfo.conninfo_to_dict(url).get("dbname") or os.environ.get("PGDATABASE"),
            "seconds": round(time.perf_counter() - started, 2)}


def backup(cfg: settings_mod.Settings | None = None, out: Path | None = None, log=print) -> Path:
    """Dump the warehouse and the Dagster instance into a new folder under `out` (default $DCV_HOME/backups)."""
    cfg = cfg or settings_mod.load()
    target = connection.resolve(cfg)
    root = Path(out) if out else cfg.home / "backups"
    folder = root / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700)  # a second backup in the same second fails here rather than mixing two
    started = time.perf_counter()
    lock = writer_lock.acquire(target.url, "dcv backup", wait=log)
    try:
        with connection.connect(target.url) as conn:
            # one snapshot for the dump and the counts: the manifest describes exactly what the dump holds
            conn.execute("set transaction isolation level repeatable read, read only")
            snapshot = conn.execute("select pg_export_snapshot()").fetchone()[0]
            warehouse = _dump_file(folder, "warehouse", target.url, snapshot)
            counts = _counts(conn)
            versions = _versions(conn)
            privileges = _database_privileges(conn)
            roles = _roles(conn)
            conn.rollback()
        databases = {"warehouse": {**warehouse, "privileges": privileges, "counts": counts}}
        same = (psycopg.conninfo.conninfo_to_dict(target.dagster_url).get("dbname")
                == psycopg.conninfo.conninfo_to_dict(target.url).get("dbname"))
        if not same:  # an external server with one database holds Dagster's tables in the warehouse dump
            with connection.connect(target.dagster_url) as conn:
                dagster_privileges = _database_privileges(conn)
            databases["dagster"] = {**_dump_file(folder, "dagster", target.dagster_url),
                                    "privileges": dagster_privileges}
        roles_note = _dump_roles(folder, target.url)
    finally:
        lock.close()
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": target.describe(),
        "seconds": round(time.perf_counter() - started, 2),
        "versions": versions,
        "roles": roles,
        "roles_file": {"file": ROLES_FILE, "bytes": (folder / ROLES_FILE).stat().st_size,
                       "sha256": _sha256(folder / ROLES_FILE), "note": roles_note},
        "databases": databases,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return folder


def _dump_roles(folder: Path, url: str) -> str:
    """pg_dumpall --roles-only; a managed server (RDS, Aurora) hides password verifiers, so without them there."""
    path = folder / ROLES_FILE
    database = psycopg.conninfo.conninfo_to_dict(url).get("dbname") or settings_mod.WAREHOUSE_DB
    args = ["--roles-only", "--no-password", f"--database={database}", f"--file={path}"]
    try:
        _tool("pg_dumpall", args, url)
        note = "with password verifiers"
    except BackupError:
        _tool("pg_dumpall", [*args, "--no-role-passwords"], url)
        note = "without passwords (the server does not show them): set login passwords again after a restore"
    path.chmod(0o600)
    return note


# --- restore ------------------------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict:
    """The manifest, after every file it names has been checked against its size and checksum."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup: it has no {MANIFEST} (an interrupted backup writes none)")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.get('format')!r}, this version reads {FORMAT}")
    for entry in [manifest["roles_file"], *manifest["databases"].values()]:
        file = folder / entry["file"]
        if not file.is_file():
            raise BackupError(f"{file} is missing: the backup is incomplete")
        if file.stat().st_size != entry["bytes"] or _sha256(file) != entry["sha256"]:
            raise BackupError(f"{file} does not match its checksum in {MANIFEST}: the backup is damaged")
    return manifest


def _occupied(url: str) -> int:
    """How many tables and views the database holds outside the system schemas (0 = safe to restore into)."""
    with connection.connect(url) as conn:
        return conn.execute("""select count(*) from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
                               where c.relkind in ('r', 'p', 'v', 'm')
                                 and n.nspname not in ('pg_catalog', 'information_schema')
                                 and n.nspname not like 'pg_toast%%'""").fetchone()[0]


_ALTER_ROLE = re.compile(r"^ALTER ROLE (\S+) WITH .*;$")
# attributes only a superuser may set (or even restate); a managed server's admin user is not one
_SUPERUSER_ONLY = re.compile(r" (NO)?(SUPERUSER|REPLICATION|BYPASSRLS|CREATEROLE|CREATEDB)\b")
_GRANT_ROLE = re.compile(r"^GRANT (\S+) TO (\S+?)(?: WITH [^;]*?)?(?: GRANTED BY \S+)?;$")


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _restore_roles(url: str, manifest: dict, roles_sql: str) -> None:
    """Create the backup's project roles where missing, with their attributes and password verifiers, and their
    memberships among themselves and in roles the server has."""
    wanted = set(manifest["roles"])
    with connection.connect(url, autocommit=True) as conn:
        superuser = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]
        existing = {r[0] for r in conn.execute("select rolname from pg_roles")}
        for role in sorted(wanted - existing):
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        existing |= wanted
        for line in roles_sql.splitlines():
            altered = _ALTER_ROLE.match(line)
            if altered and _unquote(altered.group(1)) in wanted:
                conn.execute(line if superuser else _SUPERUSER_ONLY.sub("", line))
            granted = _GRANT_ROLE.match(line)
            if granted:
                role, member = _unquote(granted.group(1)), _unquote(granted.group(2))
                if role in wanted and member in existing:
                    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(role), sql.Identifier(member)))


def _restore_privileges(url: str, privileges: list[dict] | None) -> None:
    if privileges is None:
        return
    with connection.connect(url, autocommit=True) as conn:
        database = sql.Identifier(conn.execute("select current_database()").fetchone()[0])
        conn.execute(sql.SQL("revoke all on database {} from public").format(database))
        for entry in privileges:
            grantee = sql.SQL("public") if entry["grantee"] == "PUBLIC" else sql.Identifier(entry["grantee"])
            conn.execute(sql.SQL("grant {} on database {} to {}").format(
                sql.SQL(entry["privilege"]), database, grantee))


def restore(folder: Path, cfg: settings_mod.Settings | None = None, *, force: bool = False,
            log=print) -> Restored:
    """Restore a backup into the warehouse in use ($DCV_HOME's embedded server, or DCV_DATABASE_URL's)."""
    folder = Path(folder).resolve()
    manifest = read_manifest(folder)  # nothing is touched before the backup is known to be whole
    cfg = cfg or settings_mod.load()
    started = time.perf_counter()
    target = connection.resolve(cfg)  # an embedded server starts (initdb on a fresh DCV_HOME); nothing migrates
    urls = {"warehouse": target.url, "dagster": target.dagster_url}
    for name in manifest["databases"]:
        held = _occupied(urls[name])
        if held and not force:
            raise BackupError(
                f"the {name} database ({target.describe() if name == 'warehouse' else connection.redact(urls[name])}) "
                f"already holds {held} tables and views: restoring would replace them. Set DCV_HOME to an empty "
                "directory, or run again with --force (make restore FROM=... FORCE=1) to replace them")
    _restore_roles(target.url, manifest, (folder / ROLES_FILE).read_text())
    for name, entry in manifest["databases"].items():
        url = urls[name]
        clean = []
        if force and _occupied(url):
            if target.embedded:  # the embedded server's own database: made again, empty
                params = psycopg.conninfo.conninfo_to_dict(url)
                connection.recreate_database(psycopg.conninfo.make_conninfo(**{**params, "dbname": "postgres"}),
                                             params["dbname"])
            else:  # an external database is provisioned by its owner: the backup's objects are replaced in it
                clean = ["--clean", "--if-exists"]
        log(f"restoring {name} from {entry['file']} ({entry['bytes'] / 1e6:.1f} MB)")
        database = psycopg.conninfo.conninfo_to_dict(url).get("dbname") or os.environ.get("PGDATABASE", "")
        _tool("pg_restore", ["--exit-on-error", "--no-password", "--single-transaction", *clean,
                             f"--dbname={database}", str(folder / entry["file"])], url)
        _restore_privileges(url, entry.get("privileges"))
    with connection.connect(target.url, autocommit=True) as conn:
        conn.execute("analyze")  # pg_restore brings no planner statistics
        counts = _counts(conn)
    expected = manifest["databases"]["warehouse"]["counts"]
    differ = {t: (expected.get(t), counts.get(t)) for t in set(expected) | set(counts)
              if expected.get(t) != counts.get(t)}
    if differ:
        raise BackupError(f"restored row counts differ from the manifest: {dict(sorted(differ.items())[:5])}")
    return Restored(folder, target.describe(), len(counts), sum(counts.values()), time.perf_counter() - started)
