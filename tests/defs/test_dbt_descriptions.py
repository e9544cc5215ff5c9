"""Every dbt model, seed and snapshot carries a description: it is what the Dagster asset page shows (the
translator falls back to "no description in dbt yet"), and what the next engineer reads first."""

import json


def test_every_model_seed_and_snapshot_is_described(dbt_manifest):
    nodes = json.loads(dbt_manifest.read_text())["nodes"].values()
    checked = [n for n in nodes if n["resource_type"] in ("model", "seed", "snapshot")]
    undescribed = sorted(n["original_file_path"] for n in checked if not (n.get("description") or "").strip())
    assert len(checked) > 50  # the manifest is the project's, not an empty one
    assert undescribed == [], "describe these in the YAML beside them: " + ", ".join(undescribed)
