"""Reading replay scenarios: the three folder layouts, ATT&CK ids as the sources state them, bad files rejected
with file and reason while the rest loads."""

import gzip
import json

import pytest

from dagster_project.lib.replay import scenarios

STOP = {"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00Z", "recipientAccountId": "111111111111"}
DELETE = dict(STOP, eventName="DeleteTrail")


def _scenario(root, name, spec, files):
    folder = root / name
    folder.mkdir(parents=True)
    if spec is not None:
        (folder / "scenario.yaml").write_text(spec)
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data if isinstance(data, bytes) else data.encode())


def test_user_folder_reads_every_record_format_and_quarantines_the_bad(tmp_path):
    root = tmp_path / "red-team-2026"
    _scenario(root, "trail-off", "technique_ids: [T1562.008]\nname: Trail stopped\nincidents:\n"
              "  - {description: Exercise 7, link: 'https://example.org/ex7'}\n",
              {"a.json": json.dumps({"Records": [STOP]}),             # CloudTrail's log file
               "b.jsonl": json.dumps(DELETE) + "\n" + json.dumps(STOP) + "\n",
               "c.json.gz": gzip.compress(json.dumps([DELETE]).encode()),
               "d.json": "not json at all",                          # quarantined, the rest loads
               "e.json": json.dumps([{"eventName": "NoSource"}, STOP]),  # one bad record of two
               "notes.txt": "ignored"})
    _scenario(root, "no-technique", "name: forgot the technique\n", {"a.json": json.dumps([STOP])})
    _scenario(root, "bad-id", "technique_ids: [T15620]\n", {"a.json": json.dumps([STOP])})
    _scenario(root, "no-spec", None, {"a.json": json.dumps([STOP])})
    _scenario(root, "empty", "technique_id: T1562.008\n", {"a.json": "[]"})

    read = scenarios.read_folder(root)

    assert read.source == "red-team-2026"
    assert [s.key for s in read.scenarios] == ["red-team-2026/trail-off"]
    s = read.scenarios[0]
    assert s.technique_ids == ["T1562.008"] and s.name == "Trail stopped"
    assert s.incidents == [{"description": "Exercise 7", "link": "https://example.org/ex7"}]
    assert [(r.ordinal, r.source_file.split("/")[-1], r.event_name) for r in s.records] == [
        (0, "a.json", "StopLogging"), (1, "b.jsonl", "DeleteTrail"), (2, "b.jsonl", "StopLogging"),
        (3, "c.json.gz", "DeleteTrail"), (4, "e.json", "StopLogging")]
    reasons = {ref.removeprefix(f"{root}/"): reason for ref, reason, _ in read.rejects}
    assert reasons["trail-off/d.json"].startswith("not JSON")
    assert reasons["trail-off/e.json record 0"] == "not a CloudTrail record: no eventSource"
    assert "none given" in reasons["no-technique/scenario.yaml"]
    assert "T15620" in reasons["bad-id/scenario.yaml"]
    assert "no scenario.yaml" in reasons["no-spec"]
    assert "no CloudTrail record" in reasons["empty"]
    assert len(read.rejects) == 6


def test_a_changed_file_changes_the_scenario_digest_and_nothing_else_does(tmp_path):
    root = tmp_path / "mine"
    _scenario(root, "s", "technique_ids: [T1098.001]\n", {"a.json": json.dumps([STOP])})
    first = scenarios.read_folder(root).scenarios[0].sha256
    assert scenarios.read_folder(root).scenarios[0].sha256 == first
    (root / "s" / "a.json").write_text(json.dumps([DELETE]))
    assert scenarios.read_folder(root).scenarios[0].sha256 != first


def test_records_must_be_cloudtrail_json():
    assert scenarios.parse_records("x.json", json.dumps(STOP).encode()) == [STOP]
    for name, data, reason in (("x.json", b"{\"a\": 1}", "not CloudTrail JSON"), ("x.json.gz", b"plain", "not gzip"),
                               ("x.json", b"\xff\xfe", "not JSON")):
        with pytest.raises(scenarios.ScenarioFileError, match=reason):
            scenarios.parse_records(name, data)


def test_stratus_ids_are_cut_to_the_attack_technique_they_refine():
    page = ("---\ntitle: S3 Ransomware\n---\n## Mappings\n- MITRE ATT&CK\n    - Impact\n"
            "- Threat Technique Catalog for AWS:\n  - [Data Destruction](x) (T1485.A003)\n  - [Backdoor](y) (T1098.001)\n"
            "## Description\n\nDeletes every object.\n\nMore.\n")
    title, description, ids = scenarios._stratus_markdown("aws.impact.s3-ransomware.md", page)
    assert (title, description, ids) == ("S3 Ransomware", "Deletes every object.", ["T1098.001", "T1485"])


def test_shared_sources_load_with_provenance(shared_dir):
    stratus = scenarios.read_folder(shared_dir / "stratus-red-team")
    stop = next(s for s in stratus.scenarios if s.key == "stratus-red-team/aws.defense-evasion.cloudtrail-stop")
    assert stop.technique_ids == ["T1562.008"] and [r.event_name for r in stop.records] == ["StopLogging"]
    assert stop.provenance["licence"] == "Apache-2.0" and stop.provenance["upstream"].startswith("commit ")
    assert len(stratus.scenarios) == 35 and not stratus.rejects

    trail = scenarios.read_folder(shared_dir / "traildiscover")
    stop = next(s for s in trail.scenarios if s.key == "traildiscover/CloudTrail/StopLogging")
    assert {"T1562", "T1562.008"} <= set(stop.technique_ids) and stop.incidents
    assert stop.provenance["licence"] == "CC BY 4.0"
    # example files holding no record are quarantined by name; events without examples are no scenario
    assert all(reason == "no CloudTrail record to replay" for _, reason, _ in trail.rejects)
    assert len(trail.scenarios) > 300 and trail.skipped > 0
