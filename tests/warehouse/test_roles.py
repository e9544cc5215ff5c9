"""BI reads marts through bi_reader and nothing else; raw stays private."""

import psycopg
import pytest


@pytest.fixture
def marts_table(db):
    db.execute("set role dcv_transform")
    db.execute("create table marts.role_probe (v int)")
    db.execute("insert into marts.role_probe values (1)")
    db.execute("reset role")
    yield "marts.role_probe"
    db.execute("drop table if exists marts.role_probe")


def test_bi_reader_reads_marts_only(db, marts_table):
    db.execute("set role bi_reader")
    try:
        assert db.execute(f"select v from {marts_table}").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("select * from raw.org_accounts")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("select * from app.account_attributes")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(f"insert into {marts_table} values (2)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("create table marts.bi_made (v int)")
    finally:
        db.execute("reset role")


def test_ingest_writes_raw_but_not_marts(db, marts_table):
    db.execute("set role dcv_ingest")
    try:
        db.execute("insert into raw.quarantine (source, object_ref, reason) values ('t', 'x', 'y')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute(f"insert into {marts_table} values (3)")
    finally:
        db.execute("reset role")
        db.execute("delete from raw.quarantine where source = 't'")


def test_transform_reads_raw_but_cannot_write_it(db):
    db.execute("set role dcv_transform")
    try:
        db.execute("select count(*) from raw.org_accounts")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("delete from raw.org_accounts")
    finally:
        db.execute("reset role")
