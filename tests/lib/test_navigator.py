"""Navigator layers are valid format 4.5 and carry score, rationale and detection names."""

import json

import pytest

from dagster_project.lib.exports.navigator import TechniqueScore, build_layer, validate


def test_layer_validates_and_keeps_what_a_reader_needs():
    layer = build_layer(
        "prod-payments coverage", "coverage of account 111111111111", "18.1",
        [TechniqueScore("T1078.004", 100, "CloudTrail ConsoleLogin without MFA (ctid)", ("cis-3.2-no-mfa",)),
         TechniqueScore("T1562.008", 50, "StopLogging matched", ("cloudtrail-changes", "trail-tamper"),
                        tactic="defense-evasion"),
         TechniqueScore("T1098", 0, "gap")],
    )
    assert layer["versions"] == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert by_id["T1078.004"]["score"] == 100 and "ConsoleLogin" in by_id["T1078.004"]["comment"]
    assert [m["value"] for m in by_id["T1562.008"]["metadata"]] == ["cloudtrail-changes", "trail-tamper"]
    assert by_id["T1562.008"]["tactic"] == "defense-evasion"
    json.dumps(layer)  # serializable as written to disk


def test_score_is_clamped_and_long_metadata_is_summarized():
    names = tuple(f"rule-{i}" for i in range(40))
    layer = build_layer("org", "", "18.1", [TechniqueScore("T1078", 140, "", names)])
    technique = layer["techniques"][0]
    assert technique["score"] == 100
    assert technique["metadata"][-1] == {"name": "more", "value": "15"}


def test_invalid_layer_is_rejected():
    layer = build_layer("org", "", "18.1", [TechniqueScore("T1078", 10)])
    layer["techniques"][0]["score"] = "high"  # navlayers wants a number
    with pytest.raises(ValueError, match="not a valid Navigator"):
        validate(layer)
