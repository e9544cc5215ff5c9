"""The one daily partitioning shared by ingest assets and dbt incremental models."""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg

from dagster_project.lib import settings
from dagster_project.lib.sources.days import first_local_day
from dagster_project.lib.warehouse.dbt_window import window_env

FALLBACK_START = "2026-01-01"  # no local source yet (first live AWS scan, an s3:// export)

# The partitions start at the earliest day the local sources hold (dated export folders, snapshots), so the UI
# shows the days there are data for, not a year of empty ones; DCV_PARTITION_START pins it.
# end_offset=1: today's partition exists, so the daily scan can run for the day it describes.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("DCV_PARTITION_START") or str(first_local_day(settings.load()) or FALLBACK_START),
    end_offset=1,
)


def dbt_window_env(context: dg.AssetExecutionContext) -> dict[str, str]:
    """Partition (or backfill range) -> the window dbt's incremental models process; unpartitioned: every day."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return window_env()
    window = context.partition_time_window
    last_day = window.end - timedelta(days=1)  # the window end is exclusive
    return window_env(window.start.date(), last_day.date())
