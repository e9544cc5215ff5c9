"""`dcv`: the project's command line, behind the Makefile targets.

    dcv db start|stop|status|url|migrate|shell   the warehouse in use (embedded unless DCV_DATABASE_URL)
    dcv exec -- CMD ...                          run CMD with the warehouse up and its environment set
    dcv attack versions|activate VERSION         loaded ATT&CK versions; switch the active one (docs/attack.md)
    dcv run [--day D | --from D --to D]          DCV_EXPORT_DIR and/or live AWS -> every asset -> coverage summary
    dcv summary [--day D]                        the coverage summary of a loaded day (default: the latest)
    dcv backup [--out DIR]                       dump the warehouse and the Dagster instance (docs/operations.md)
    dcv restore FOLDER [--force]                 restore a backup into the warehouse in use (an empty DCV_HOME)
    dcv tenant add ORG [--role R] | list | remove [ORG] --role R   a BI role reading only its organizations' rows
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from dagster_project.lib import settings as settings_mod
from dagster_project.lib.warehouse import connection, embedded, runtime

KNOWN_ERRORS = (connection.WarehouseConfigError, OSError, embedded.EmbeddedServerError, ValueError, RuntimeError,
                FileExistsError)


def _db(action: str) -> int:
    cfg = settings_mod.load()
    if action == "stop":
        if not cfg.embedded:
            print("dcv: an external PostgreSQL is configured (DCV_DATABASE_URL/PG*); nothing to stop")
            return 0
        print("stopped embedded PostgreSQL" if embedded.stop(cfg.pgdata) else "embedded PostgreSQL was not running")
        return 0
    if action == "status":
        if not cfg.embedded:
            print(f"external PostgreSQL: {connection.redact(cfg.database_url or '')}")
            return 0
        server = embedded.status(cfg.pgdata)
        print(f"embedded PostgreSQL pid {server.pid} on 127.0.0.1:{server.port}, data {cfg.pgdata}" if server
              else f"embedded PostgreSQL not running (data {cfg.pgdata})")
        return 0 if server else 3
    started = time.perf_counter()
    target, env = runtime.prepare(cfg)
    elapsed = time.perf_counter() - started
    if target.recovered:
        print(f"dcv: {target.recovered}", file=sys.stderr)
    if action == "start":
        print(f"{target.describe()} ready in {elapsed:.2f}s (migrations applied)")
    elif action == "url":
        print(target.url)
    elif action == "migrate":
        print(f"migrations applied to {target.describe()}")
    elif action == "shell":
        os.execvpe(str(embedded.psql_path()), ["psql", "-v", "ON_ERROR_STOP=1"], {**os.environ, **env})
    return 0


def _exec(command: list[str]) -> int:
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("dcv exec: give a command after --", file=sys.stderr)
        return 2
    _, env = runtime.prepare()
    os.execvpe(command[0], command, {**os.environ, **env})
    return 0  # not reached


def _attack(action: str, version: str | None) -> int:
    from dagster_project.lib.attack import store

    target, _ = runtime.prepare()
    with connection.connect(target.url) as conn:
        if action == "activate":
            if not version:
                print("dcv attack activate: give the version, e.g. `dcv attack activate 18.1`", file=sys.stderr)
                return 2
            previous = store.activate(conn, version, note="dcv attack activate")
            print(f"active ATT&CK version: {version} (was {previous or 'none'}); rebuild the marts: dbt build")
            return 0
        active = store.active_version(conn)
        for loaded in store.loaded_versions(conn):
            print(f"{loaded}{'  (active)' if loaded == active else ''}")
    return 0


def _schema(check: bool) -> int:
    """Build migrations + dbt into a scratch database on the server in use, dump it, write or compare."""
    from dagster_project.lib.warehouse import schema_dump

    target, _ = runtime.prepare()
    scratch = "dcv_schema_build"
    url = connection.recreate_database(target.url, scratch)
    try:
        schema_dump.build(url)
        built = schema_dump.dump(url)
    finally:
        connection.drop_database(target.url, scratch)
    if not check:
        schema_dump.OUTPUT.write_text(built)
        print(f"wrote {schema_dump.OUTPUT} ({len(built.splitlines())} lines)")
        return 0
    committed = schema_dump.OUTPUT.read_text() if schema_dump.OUTPUT.exists() else ""
    if committed == built:
        print(f"{schema_dump.OUTPUT.name} matches the built warehouse")
        return 0
    print(f"{schema_dump.OUTPUT.name} differs from the built warehouse (run `make schema`):\n"
          + schema_dump.differences(committed, built), file=sys.stderr)
    return 1


def _backup(out: str | None) -> int:
    from dagster_project.lib.warehouse import backup

    folder = backup.backup(out=Path(out) if out else None)
    manifest = backup.read_manifest(folder)
    sizes = ", ".join(f"{name} {entry['bytes'] / 1e6:.1f} MB" for name, entry in manifest["databases"].items())
    print(f"backup written to {folder} ({sizes}; {manifest['seconds']:.1f}s); restore with "
          f"`make restore FROM={folder}`")
    return 0


def _restore(source: str, force: bool) -> int:
    from dagster_project.lib.warehouse import backup

    done = backup.restore(Path(source), force=force)
    runtime.write_dagster_yaml(settings_mod.load().dagster_home)
    print(f"restored {done.folder} into {done.target}: {done.tables} tables, {done.rows} rows, row counts equal "
          f"to the backup's ({done.seconds:.1f}s)")
    return 0


def _accounts(n: int) -> str:
    return f"{n} account{'' if n == 1 else 's'}"


def _tenant(action: str, organization: str | None, role: str | None) -> int:
    from dagster_project.lib.warehouse import tenants

    target, _ = runtime.prepare()
    with connection.connect(target.url) as conn:
        if action == "add":
            if not organization:
                print("dcv tenant add: give the organization id, e.g. `dcv tenant add o-abc123def0`", file=sys.stderr)
                return 2
            tenant = tenants.add(conn, organization, role)
            accounts = (f"{_accounts(tenant.accounts)} now" if tenant.accounts else
                        "no account of it is loaded yet: compare with marts.accounts.organization_id")
            others = [t.organization_id for t in tenants.tenants(conn)
                      if t.role == tenant.role and t.organization_id != tenant.organization_id]
            also = f"; it also reads organization {', '.join(others)}" if others else ""
            print(f"tenant role {tenant.role} reads the marts rows of organization {tenant.organization_id} "
                  f"({accounts}){also}, and the shared reference tables; no login yet: "
                  f"`alter role {tenant.role} login password '...'` (make db-shell) lets a BI tool connect as it")
        elif action == "remove":
            if not role:
                print("dcv tenant remove: give the role with --role", file=sys.stderr)
                return 2
            if not tenants.remove(conn, role, organization):
                print(f"no tenant role {role}" + (f" reading organization {organization}" if organization else ""))
            elif role in {t.role for t in tenants.tenants(conn)}:
                print(f"tenant role {role} no longer reads organization {organization}")
            else:
                print(f"dropped tenant role {role}")
        else:
            for tenant in tenants.tenants(conn):
                print(f"{tenant.role}\t{tenant.organization_id}\t{_accounts(tenant.accounts)}")
    return 0


def _day(text: str) -> date:
    """argparse type: a YYYY-MM-DD day, with a one-line error otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dcv", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    db = sub.add_parser("db", help="the warehouse PostgreSQL")
    db.add_argument("action", choices=["start", "stop", "status", "url", "migrate", "shell"])
    ex = sub.add_parser("exec", help="run a command with the warehouse environment")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    attack = sub.add_parser("attack", help="ATT&CK versions: list them, switch the active one")
    attack.add_argument("action", choices=["versions", "activate"])
    attack.add_argument("version", nargs="?")
    demo = sub.add_parser("demo", help="sample organization -> every asset, two scan days -> coverage summary")
    demo.add_argument("--accounts", type=int, default=5)
    demo.add_argument("--detections", type=int, default=60, help="approximate detections per account")
    run = sub.add_parser("run", help="your export (DCV_EXPORT_DIR) / live AWS for a day or a range -> every asset "
                         "-> coverage summary")
    run.add_argument("--day", type=_day, help="the scan day (default: today, UTC)")
    run.add_argument("--from", dest="first", type=_day, help="first day of a range (with --to)")
    run.add_argument("--to", dest="last", type=_day, help="last day of a range (with --from)")
    summary = sub.add_parser("summary", help="the coverage summary of a loaded day")
    summary.add_argument("--day", type=_day, help="a loaded scan day (default: the latest)")
    schema = sub.add_parser("schema", help="regenerate schema/database-schema-v1.sql from a freshly built warehouse")
    schema.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    ev = sub.add_parser("eval", help="mapping accuracy on the Sigma and Elastic corpora (tags hidden)")
    ev.add_argument("--threshold", type=float, default=None,
                    help="minimum confidence counted as a prediction (default: the dbt var coverage_min_confidence)")
    bench = sub.add_parser("bench", help="scale benchmark on a scratch database: prints a table, writes results")
    bench.add_argument("--accounts", type=int, default=1000)
    bench.add_argument("--detections", type=int, default=1000, help="approximate detections per account")
    bench.add_argument("--days", type=int, default=2,
                       help="scan days: a full build, then daily partitions (median reported), then the query patterns")
    bench.add_argument("--keep", action="store_true", help="keep the scratch database (dcv_bench) for EXPLAIN work")
    bk = sub.add_parser("backup", help="dump the warehouse and the Dagster instance into a timestamped folder")
    bk.add_argument("--out", help="where the backup folder goes (default: $DCV_HOME/backups)")
    rs = sub.add_parser("restore", help="restore a backup folder into the warehouse in use")
    rs.add_argument("source", metavar="FOLDER", help="a folder `dcv backup` wrote")
    rs.add_argument("--force", action="store_true", help="replace a warehouse that already holds tables")
    tn = sub.add_parser("tenant", help="tenant roles: a BI role reading only its organizations' rows in marts")
    tn.add_argument("action", choices=["add", "list", "remove"])
    tn.add_argument("organization", nargs="?", help="the organization id (marts.accounts.organization_id)")
    tn.add_argument("--role", help="the role's name (default: tenant_<organization id>); add an organization to an "
                                   "existing role to let it read that one too; remove takes the role, and an "
                                   "organization to take only that one from it")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "tenant":
            return _tenant(args.action, args.organization, args.role)
        if args.cmd == "backup":
            return _backup(args.out)
        if args.cmd == "restore":
            return _restore(args.source, args.force)
        if args.cmd == "bench":
            from dagster_project import benchmark

            return benchmark.main(args.accounts, args.detections, keep=args.keep, days=args.days)
        if args.cmd == "eval":
            from dagster_project import evaluate

            return evaluate.main(args.threshold)
        if args.cmd == "schema":
            return _schema(args.check)
        if args.cmd == "demo":
            from dagster_project import demo as demo_mod

            return demo_mod.main(args.accounts, args.detections)
        if args.cmd in ("run", "summary"):
            from dagster_project import run as run_mod

            if args.cmd == "summary":
                return run_mod.summary_main(args.day)
            return run_mod.main(args.day, args.first, args.last)
        if args.cmd == "attack":
            return _attack(args.action, args.version)
        return _db(args.action) if args.cmd == "db" else _exec(args.command)
    except KNOWN_ERRORS as exc:
        print(f"dcv: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
