"""The canonical text of a record is what its configuration hash (a detection version's identity) is taken over:
it must not change when the serializer does, or every stored detection would look modified after an upgrade."""

import json
import random
from datetime import UTC, datetime

import pytest

from dagster_project.lib.detections import record as rec
from dagster_project.lib.sources.exports import read_export


def reference(value) -> str:
    """The json module's canonical text, which every hash stored so far was taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


AWKWARD = [
    {"b": 1, "a": {"z": [1, 2.5, None, True], "y": "é\n\t\x01\u2028\x7f\"\\"}},
    {"Threshold": 1e-05, "Small": -7.58e-09, "Big": 1e16, "Huge": 1.5e300, "Plain": 0.0001, "Zero": 0.0},
    {"Id": 2**70, "Negative": -(2**63)},
    {2: "integer keys", 10: "sort as text"},
    {"LastModified": datetime(2026, 11, 25, 12, 0, tzinfo=UTC), "Text": "1e5 looks like a float"},
    {"Name": "rule-1", "Version": "v2e-1", "Tiny": 4e-06, "Last": [3e-09]},
    1e-07,
    [],
    {},
]


@pytest.mark.parametrize("value", AWKWARD, ids=range(len(AWKWARD)))
def test_canonical_json_is_the_json_modules_text_for_awkward_values(value):
    assert rec.canonical_json(value) == reference(value)


def test_canonical_json_matches_the_json_module_over_random_floats():
    rng = random.Random(7)
    values = [{"v": rng.uniform(-10, 10) * 10 ** rng.randint(-30, 30)} for _ in range(20_000)]
    assert [rec.canonical_json(v) for v in values] == [reference(v) for v in values]


def test_config_hashes_of_the_example_export_are_unchanged_by_the_serializer(tmp_path):
    from dagster_project.lib import sample_org

    sample_org.write_export(tmp_path, accounts=3, detections_per_account=200, seed=3)
    records = [r for r in read_export(tmp_path) if isinstance(r, dict)]
    assert len(records) > 500
    for record in records:
        split = rec.split(record)
        assert split.config_hash == rec.sha256(reference(split.config))
        assert split.state_json == (reference(split.state) if split.state else None)


def test_tags_are_metadata_a_retag_is_not_a_new_version():
    """Resource tags (owner, environment, ...) go to the state document: retagging an EventBridge rule, alarm or
    Config rule changes its state hash, never its configuration hash (volatile_fields.yaml)."""
    for detection_type, api in (("event_rule", {"Name": "r", "EventPattern": "{}"}),
                                ("metric_alarm", {"AlarmName": "a", "StateValue": "OK"}),
                                ("config_rule", {"ConfigRuleName": "c"})):
        base = {"provider": "aws", "service": "s", "detection_type": detection_type, "native_id": "x",
                "api_object": api, "related": {}}
        owned = {**base, "api_object": {**api, "Tags": [{"Key": "owner", "Value": "secops"}]}}
        moved = {**base, "api_object": {**api, "Tags": [{"Key": "owner", "Value": "platform"}]}}
        assert rec.split(owned).config_hash == rec.split(moved).config_hash == rec.split(base).config_hash
        assert rec.split(owned).state["Tags"] == [{"Key": "owner", "Value": "secops"}]
        assert rec.split(owned).state_hash != rec.split(moved).state_hash
