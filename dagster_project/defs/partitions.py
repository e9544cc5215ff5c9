"""The one daily partitioning shared by ingest assets and dbt incremental models."""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg

# end_offset=1: today's partition exists, so the daily scan can run for the day it describes.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("DCV_PARTITION_START", "2026-01-01"), end_offset=1
)


def dbt_vars_for(context: dg.AssetExecutionContext) -> dict[str, str]:
    """Partition (or backfill range) -> dbt vars min_date/max_date; unpartitioned runs get none."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return {}
    window = context.partition_time_window
    last_day = window.end - timedelta(days=1)  # the window end is exclusive
    return {"min_date": window.start.date().isoformat(), "max_date": last_day.date().isoformat()}
