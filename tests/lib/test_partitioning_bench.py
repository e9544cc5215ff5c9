"""`make bench-partitioning` measures coverage_history as one table and as monthly partitions on real
PostgreSQL: both hold the same rows, each question is timed on both, and retention drops a whole month."""

import datetime as dt

import psycopg

from dagster_project.lib.bench import partitioning


def test_both_layouts_are_measured_and_the_scratch_schema_is_dropped(warehouse_url):
    report = partitioning.run(warehouse_url, accounts=2, techniques=5, days=70, runs=3)
    assert report.startswith("2 accounts x 5 covered techniques x 70 days = 700 rows")
    for question in partitioning.QUERIES:
        assert f"| {question} | " in report
    assert "| drop the month's partition | " in report
    assert "| delete the day past retention (today's daily prune), one table | " in report
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select to_regnamespace(%s)", [partitioning.SCHEMA]).fetchone()[0] is None


def test_the_partitioned_copy_holds_every_row_in_month_partitions(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        partitioning.build(conn, 2, 3, 40, dt.date(2026, 1, 1))
        counts = conn.execute(f"""
            select (select count(*) from {partitioning.SCHEMA}.plain), (select count(*) from {partitioning.SCHEMA}.monthly),
                   (select count(*) from pg_inherits where inhparent = '{partitioning.SCHEMA}.monthly'::regclass),
                   (select count(*) from only {partitioning.SCHEMA}.monthly)""").fetchone()
        conn.execute(f"drop schema {partitioning.SCHEMA} cascade")
    assert counts == (240, 240, 2, 0)  # January and February's first days; nothing left in the parent
