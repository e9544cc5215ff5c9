"""The asset graph, snapshotted: a renamed asset, group, partitioning or check shows up in review.

Regenerate after an intended change: DCV_UPDATE_SNAPSHOTS=1 pytest tests/defs/test_asset_graph.py
"""

import json
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


def test_dbt_reads_each_raw_table_after_the_asset_that_loads_it(dbt_manifest):
    """One Dagster run loads, then transforms: a dbt source in schema raw is the ingest asset's own key. When
    sources were keyed by their dbt name (detections/detection_presence), the marts were built before the
    day's load and showed the previous day (the first day: no detections at all)."""
    import dagster as dg

    from dagster_project.definitions import defs
    from dagster_project.defs.resources import dbt_project
    from dagster_project.defs.transform.assets import translator

    graph = defs.resolve_asset_graph()
    sources = json.loads(dbt_project.manifest_path.read_text())["sources"].values()
    raw_tables = {translator.get_asset_key(s) for s in sources if s["schema"] == "raw"}
    not_loaded = {key for key in raw_tables if not (graph.has(key) and graph.get(key).is_materializable)}
    # the quarantine is written beside every load (each loader's rejects), not by an asset of its own; how far
    # the change log was pruned, by the build that reads the log (int_detection_versions_derived's post-hook)
    assert not_loaded == {dg.AssetKey(["raw", "quarantine"]), dg.AssetKey(["raw", "detection_changes_pruned"])}
    presence = graph.get(dg.AssetKey(["staging", "stg_detections__presence"]))
    assert dg.AssetKey(["raw", "detection_presence"]) in presence.parent_keys
