"""The asset graph, snapshotted: a renamed asset, group, partitioning or check shows up in review.

Regenerate after an intended change: DCV_UPDATE_SNAPSHOTS=1 pytest tests/defs/test_asset_graph.py
"""

import os
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("asset_graph.snapshot.txt")


def _describe() -> str:
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        partitions = type(node.partitions_def).__name__ if node.partitions_def else "-"
        lines.append(f"asset {key.to_user_string()} group={node.group_name} partitions={partitions}")
    for check in sorted(graph.asset_check_keys, key=lambda c: c.to_user_string()):
        lines.append(f"check {check.to_user_string()}")
    for schedule in sorted(defs.schedules or [], key=lambda s: s.name):
        lines.append(f"schedule {schedule.name} cron={schedule.cron_schedule}")
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_snapshot(dbt_manifest):
    current = _describe()
    if os.environ.get("DCV_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), "asset graph changed: review, then regenerate (see module docstring)"
    assert "asset raw/org_accounts group=detections partitions=DailyPartitionsDefinition" in current
    assert "schedule daily_scan_schedule cron=0 2 * * *" in current
