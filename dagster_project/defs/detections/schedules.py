"""The daily run: scan every source for the day, then parse, map and rebuild the marts for that partition."""

import dagster as dg

from dagster_project.defs.partitions import daily_partitions

daily_scan_job = dg.define_asset_job(
    "daily_scan",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Every asset for one scan day: collection, ATT&CK refresh, parsing, dbt, Navigator layers.",
)

# 02:00 UTC, for the day that just ended; a missed day is a backfill of the same job in the UI
daily_scan_schedule = dg.build_schedule_from_partitioned_job(daily_scan_job, hour_of_day=2, minute_of_hour=0)
