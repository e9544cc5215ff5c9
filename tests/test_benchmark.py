"""`make bench` end to end at a tiny scale: every measure the issue asks for is printed and written, computed
from a real three-day run (the numbers themselves are for the real scale; here they only have to be real)."""

import json

import pytest

from dagster_project import benchmark
from dagster_project.lib.attack import sources
from dagster_project.lib.bench import queries
from dagster_project.lib.settings import load as load_settings


@pytest.fixture(scope="module")
def results(shared_dir, dbt_manifest, warehouse_url, tmp_path_factory):
    home = tmp_path_factory.mktemp("dcv_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DCV_HOME", str(home))
        env.setenv("DCV_ATTACK_SOURCE", ",".join(sources.local_attack_sources(load_settings())))
        assert benchmark.main(accounts=3, detections=60, spec_timeout_s=10, days=3) == 0
    written = sorted((home / "bench").glob("results-*.json"))
    assert len(written) == 1
    return json.loads(written[0].read_text()), written[0].with_suffix(".md").read_text(), home


def test_every_measure_is_reported_from_the_run(results):
    figures, table, _ = results
    f = figures["figures"]
    assert f["detections"] > 100
    assert f["ingest / COPY into the spec's detections table"] > 0
    assert 0 < f["daily partition at ~1% churn, end to end (s)"] < f["full build: ingest + parse + replay + map + dbt (s)"]
    # replay: every pattern against every scenario on day 1, then only what is new (nothing, at the sample's churn
    # of already known patterns)
    replayed = f["replay_day1"]
    assert replayed["patterns"] > 0 and replayed["records"] > 300 and replayed["candidate_tests"] > 0
    assert replayed["candidate_tests"] < replayed["patterns"] * replayed["records"]  # candidates only
    assert f["replay day 1: every pattern x every scenario (s)"] >= 0
    assert all(p["replayed_patterns"] < replayed["patterns"] for p in f["daily_partitions"])
    assert f["detections changed per day"] > 0 and f["raw bytes added per changed detection (KB)"] > 0
    assert f["query patterns measured"] == len(queries.load_patterns())
    # the load is the detections asset's, snapshot files included: one per account and day
    assert f["snapshot files written on the last day (files / MB gzip)"].startswith("3 / ")
    assert str(f["spec view / our gaps query"]).endswith("x")
    for what in ("ingest / COPY", "full build", "peak memory", "daily partition", "spec view / our gaps query"):
        assert what in table


def test_each_daily_partition_is_reported_and_the_median_is_one_of_them(results):
    figures, _, home = results
    partitions = figures["figures"]["daily_partitions"]
    assert figures["figures"]["daily partitions measured (the median day is reported)"] == len(partitions) == 2
    assert partitions[0]["day"] < partitions[1]["day"]
    for day in partitions:  # each figure rounded to 0.1 s
        assert day["seconds"] + 0.2 >= day["ingest"] + day["parse"] + day["dbt"] > 0
    assert figures["figures"]["daily partition at ~1% churn, end to end (s)"] == min(d["seconds"] for d in partitions)
    # the patterns were measured over the history the three days left
    assert "after the day-3 build (3 scan days of history)" in (home / "bench" / "query-patterns.md").read_text()


def test_the_daily_build_says_where_its_time_went(results):
    figures, table, _ = results
    seconds = figures["figures"]["daily_dbt_model_seconds"]
    assert {"detections", "detection_mappings", "detection_health", "coverage_history"} <= set(seconds)
    assert list(seconds.values()) == sorted(seconds.values(), reverse=True)
    assert "daily dbt: slowest models" in table


def test_the_scratch_database_is_dropped_and_the_patterns_report_written(results, db):
    _, _, home = results
    assert db.execute("select count(*) from pg_database where datname = %s", (benchmark.SCRATCH_DB,)).fetchone()[0] == 0
    assert "| # | Pattern | p50 ms | p95 ms |" in (home / "bench" / "query-patterns.md").read_text()
