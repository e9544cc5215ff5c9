"""Faults outside the input files: secrets in a bad database URL, patterns of absurd size, a BI role that must not
reach beyond the marts. Each is a user-visible promise of docs/reliability.md."""

from __future__ import annotations

import json
import os
import time

import psycopg
import pytest
from psycopg import conninfo, sql

from dagster_project.lib import settings
from dagster_project.lib.parsing import MAX_PATTERN_CHARS, parse
from dagster_project.lib.warehouse import connection, migrate

SECRET = "Sup3r@Secret/pw"  # noqa: S105 -- a made-up password the output must never show


@pytest.mark.parametrize("url", [
    f"postgresql://dcv:{SECRET}@127.0.0.1:1/dcv",  # an unescaped '@' (and '/') in the password
    f"postgresql://dcv:{SECRET}@db.example:notaport/dcv",
    f"mysql://dcv:{SECRET}@127.0.0.1/dcv",
    f"dcv:{SECRET} at localhost",  # not a URL at all
])
@pytest.mark.parametrize("command", [("db", "status"), ("db", "migrate")])
def test_a_bad_database_url_is_one_line_that_never_shows_the_password(url, command, tmp_path, monkeypatch, capsys):
    """In-process (an exception escaping `main` would fail the test: that is the traceback a user would see);
    tests/warehouse/test_configuration_errors.py runs the command as a process."""
    from dagster_project import cli

    monkeypatch.setenv("DCV_DATABASE_URL", url)
    monkeypatch.setenv("DCV_HOME", str(tmp_path))
    code = cli.main(list(command))
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "DCV_DATABASE_URL" in err and "%40" in err, err
    for part in ("Sup3r", "Secret", "/pw"):
        assert part not in out + err


def test_a_valid_url_with_an_encoded_at_is_redacted_whole(tmp_path, monkeypatch, capsys):
    from dagster_project import cli

    monkeypatch.setenv("DCV_DATABASE_URL", "postgresql://dcv:Sup3r%40Secret@127.0.0.1:5432/dcv")
    assert cli.main(["db", "status"]) == 0
    assert capsys.readouterr().out.strip() == "external PostgreSQL: postgresql://dcv:***@127.0.0.1:5432/dcv"
    assert connection.redact("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db"
    assert "p@ss" not in connection.redact("host=h password='p@ss word' dbname=x")


def test_a_wrong_password_is_not_echoed_by_the_server_message(pg_server_url):
    params = conninfo.conninfo_to_dict(pg_server_url)
    url = f"postgresql://postgres:{SECRET.replace('@', '%40').replace('/', '%2F')}@127.0.0.1:{params['port']}/nodb"
    with pytest.raises(connection.WarehouseConfigError) as err:
        connection.connect(url)
    assert "Secret" not in str(err.value)


def event_pattern(megabytes: float) -> str:
    names = [f"Operation{i:07d}" for i in range(int(megabytes * 1_000_000 / 20))]
    return json.dumps({"source": ["aws.iam"], "detail": {"eventName": names}})


def test_pattern_parsing_is_linear_and_huge_patterns_are_refused_with_a_reason():
    """Under the limit, time grows with the size (it grew with its square: 10 MB took 194 s); over it, the
    parse is refused at once, with the size as its reason."""
    timings = {}
    for size in (0.06, 0.24):  # both under MAX_PATTERN_CHARS
        text = event_pattern(size)
        assert len(text) <= MAX_PATTERN_CHARS
        started = time.perf_counter()
        logic = parse("event_rule", {"api_object": {"EventPattern": text, "State": "ENABLED"}, "related": {}})
        timings[size] = time.perf_counter() - started
        assert logic.parse_confidence > 0 and len(logic.signals) > 2_000
    assert timings[0.24] < 12 * timings[0.06] + 0.5, timings  # 4x the size: ~4x the time, never 16x

    huge = event_pattern(10)
    started = time.perf_counter()
    logic = parse("event_rule", {"api_object": {"EventPattern": huge}, "related": {}})
    assert time.perf_counter() - started < 2
    assert logic.parse_confidence == 0 and f"{len(huge):,} characters" in logic.reason
    assert "limit" in logic.reason and logic.trigger_conditions == {}
    filter_logic = parse("metric_filter", {"api_object": {"filterPattern": "{ " + "(" * 300_000 + " }"}})
    assert filter_logic.parse_confidence == 0 and "filterPattern not parsed" in filter_logic.reason


@pytest.fixture
def fresh_warehouse(pg_server_url):
    """A database migrated from nothing (database-level grants are not copied from a template)."""
    from tests.conftest import create_database, drop_database

    url = create_database(pg_server_url, prefix="roles", template=None)
    migrate.upgrade(url)
    yield url
    drop_database(pg_server_url, url)


def test_bi_reader_cannot_make_temporary_tables_or_reach_other_databases(pg_server_url, fresh_warehouse):
    """Migration 0016 (the warehouse) and the embedded server's lock on its other databases (dagster, postgres,
    template1): bi_reader connects to the warehouse and reads marts, nothing more."""
    if settings.external_url_from_env(os.environ):
        pytest.skip("changes a role's password: only on the tests' own embedded server")
    params = conninfo.conninfo_to_dict(pg_server_url)
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute("alter role bi_reader login password 'bi-test'")
    connection.lock_other_databases(pg_server_url)

    def as_bi(database: str) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=params["port"], user="bi_reader", password="bi-test",  # noqa: S106
                               dbname=database, autocommit=True)

    try:
        with as_bi(conninfo.conninfo_to_dict(fresh_warehouse)["dbname"]) as bi:
            assert bi.execute("select count(*) from information_schema.schemata where schema_name = 'marts'"
                              ).fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute("create temporary table t (v int)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute("select * from raw.quarantine")
        for database in ("postgres", "template1"):
            with pytest.raises(psycopg.OperationalError, match="permission denied"):
                as_bi(database).close()
        # the project's own roles still create the temporary tables a load and dbt need
        with psycopg.connect(fresh_warehouse, autocommit=True) as owner:
            for role in (settings.INGEST_ROLE, settings.TRANSFORM_ROLE):
                owner.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
                owner.execute("create temporary table t (v int); drop table t")
                owner.execute("reset role")
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute("alter role bi_reader nologin password null")
