"""The daily schedule's semantics: which partition a tick requests, and when it ticks."""

from datetime import UTC, datetime

import dagster as dg
import pytest


@pytest.fixture(scope="module")
def schedule(dbt_manifest):
    from dagster_project.definitions import defs

    return defs, defs.get_schedule_def("daily_scan_schedule")


def _tick(defs, schedule, when: datetime) -> list[str]:
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
    return [request.partition_key for request in schedule.evaluate_tick(context).run_requests]


def test_the_0200_tick_processes_the_day_it_runs_on(schedule):
    """A scan reads the sources as they are when it runs: the 02:00 tick of 20 November is 20 November's
    partition, not the 19th (which an undated export or live AWS could not describe)."""
    defs, daily = schedule
    assert _tick(defs, daily, datetime(2026, 11, 20, 2, 0, tzinfo=UTC)) == ["2026-11-20"]
    assert _tick(defs, daily, datetime(2027, 1, 1, 2, 0, tzinfo=UTC)) == ["2027-01-01"]


def test_the_schedule_runs_the_daily_job_at_0200_utc_and_starts_off(schedule):
    _, daily = schedule
    assert daily.cron_schedule == "0 2 * * *"
    assert daily.execution_timezone in (None, "UTC")
    assert daily.job_name == "daily_scan"
    assert daily.default_status == dg.DefaultScheduleStatus.STOPPED
