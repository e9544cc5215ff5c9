"""The summary names the input a day rejected: a corrupt export file is otherwise seen only in the run's log."""

from datetime import UTC, date, datetime

from dagster_project.lib.reports.summary import quarantine_lines

DAY = date(2026, 12, 7)


def test_the_days_rejected_input_is_named_per_source(db):
    assert quarantine_lines(db, DAY) == []  # nothing rejected: no line
    rows = [
        ("detections", DAY, "accounts/210987654321/us-east-1/logs-describe-metric-filters.json", "not valid JSON",
         datetime(2026, 12, 7, 9, tzinfo=UTC)),
        ("detections", DAY, "accounts/210987654321/us-east-1/events-list-rules.default.json", "not valid JSON",
         datetime(2026, 12, 7, 9, tzinfo=UTC)),
        ("attack_bundles", None, "attack-3.0.json (file)", "not JSON", datetime(2026, 12, 7, 9, tzinfo=UTC)),
        ("detections", date(2026, 12, 6), "accounts/1/us-east-1/x.json", "not valid JSON",  # another day's
         datetime(2026, 12, 6, 9, tzinfo=UTC)),
        ("attack_bundles", None, "attack-2.0.json (file)", "not JSON", datetime(2026, 12, 6, 9, tzinfo=UTC)),
        ("replay_scenarios", None, "red-team/x.json", "not JSON", datetime(2026, 12, 7, 9, tzinfo=UTC)),
    ]
    with db.cursor() as cur:
        cur.executemany("insert into raw.quarantine (source, partition_date, object_ref, reason, quarantined_at) "
                        "values (%s, %s, %s, %s, %s)", rows)
    lines = quarantine_lines(db, DAY)
    assert lines[0] == "  rejected input: attack_bundles 1, detections 2; each with its reason in raw.quarantine:"
    assert db.execute(lines[1]).rowcount == len(rows)  # the line a user pastes lists them
