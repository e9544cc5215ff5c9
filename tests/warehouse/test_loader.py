"""COPY loads replace a partition atomically: a failed load leaves the previous rows visible."""

from datetime import date

import psycopg
import pytest

from dagster_project.lib.warehouse import loader

COLUMNS = ["partition_date", "provider", "account_id", "source", "collected_at", "payload"]
DAY = date(2026, 11, 1)


def _rows(*ids):
    return [(DAY, "aws", i, "test", "2026-11-01T00:00:00Z", {"Id": i}) for i in ids]


def _ids(db):
    return [r[0] for r in db.execute(
        "select account_id from raw.org_accounts where partition_date = %s order by 1", (DAY,))]


def test_replace_is_idempotent(warehouse_url, db):
    with psycopg.connect(warehouse_url) as conn:
        for _ in range(3):
            loader.replace_rows(conn, "raw.org_accounts", {"partition_date": DAY}, COLUMNS, _rows("1", "2"))
    assert _ids(db) == ["1", "2"]


def test_failed_load_keeps_previous_partition(warehouse_url, db):
    with psycopg.connect(warehouse_url) as conn:
        loader.replace_rows(conn, "raw.org_accounts", {"partition_date": DAY}, COLUMNS, _rows("1", "2"))
        bad = _rows("3") + [(DAY, "aws", None, "test", "2026-11-01T00:00:00Z", {})]  # account_id is NOT NULL
        with pytest.raises(psycopg.errors.NotNullViolation):
            loader.replace_rows(conn, "raw.org_accounts", {"partition_date": DAY}, COLUMNS, bad)
    assert _ids(db) == ["1", "2"]


def test_quarantine_replaces_its_own_load(warehouse_url, db):
    with psycopg.connect(warehouse_url) as conn:
        for _ in range(2):
            loader.quarantine(conn, "probe", DAY, [("file.json", "not valid JSON", "{")])
    rows = db.execute("select object_ref, reason from raw.quarantine where source = 'probe'").fetchall()
    assert rows == [("file.json", "not valid JSON")]
