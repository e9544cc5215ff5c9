"""The partition window as dbt receives it (macros/partition_window.sql reads these variables)."""

from datetime import date

import pytest

from dagster_project.lib.warehouse.dbt_window import window_env


def test_a_backfill_range_reaches_dbt_as_its_first_and_last_day():
    assert window_env(date(2026, 3, 1), date(2026, 3, 30)) == {
        "DCV_PARTITION_MIN_DATE": "2026-03-01", "DCV_PARTITION_MAX_DATE": "2026-03-30"}


def test_no_window_clears_both_so_an_inherited_one_cannot_narrow_a_full_build():
    assert window_env() == {"DCV_PARTITION_MIN_DATE": "", "DCV_PARTITION_MAX_DATE": ""}


def test_a_reversed_window_is_refused_rather_than_building_nothing():
    with pytest.raises(ValueError, match="starts after it ends"):
        window_env(date(2026, 3, 2), date(2026, 3, 1))
