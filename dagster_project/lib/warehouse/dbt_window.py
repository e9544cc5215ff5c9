"""The daily window a dbt build processes, as the environment dbt's `partition_window()` macro reads.

Environment variables rather than `--vars`: dbt re-parses the whole project when a var changes (~3 s a
build) but only the models that read an environment variable when it changes.
"""

from __future__ import annotations

from datetime import date

MIN_DATE, MAX_DATE = "DCV_PARTITION_MIN_DATE", "DCV_PARTITION_MAX_DATE"


def window_env(first: date | None = None, last: date | None = None) -> dict[str, str]:
    """[first, last] -> dbt's environment; no window (empty values) means every day."""
    if first is None or last is None:
        return {MIN_DATE: "", MAX_DATE: ""}
    if first > last:
        raise ValueError(f"partition window starts after it ends: {first} > {last}")
    return {MIN_DATE: first.isoformat(), MAX_DATE: last.isoformat()}
