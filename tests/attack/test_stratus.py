"""Stratus Red Team as a knowledge source (lib/attack/knowledge.py): each technique page's ATT&CK tactics and
Threat Technique Catalog ids with the CloudTrail events its detonation log holds, one document with provenance
(page and log path and sha256, the Apache 2.0 licence), bad files named. The last test reads the real folder."""

import dataclasses
import hashlib
from pathlib import Path

import pytest

from dagster_project.lib import settings
from dagster_project.lib.attack import bundle, knowledge, sources

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stratus-red-team"
PAGES = "docs/attack-techniques/AWS"
LOGS = "docs/detonation-logs"


def _files(folder: str) -> dict[str, bytes]:
    return {p.relative_to(FIXTURE).as_posix(): p.read_bytes() for p in (FIXTURE / folder).glob("aws.*")}


def test_each_technique_is_an_object_with_its_mappings_and_detonated_events():
    doc = knowledge.read_stratus(FIXTURE)
    assert (doc.source_file, doc.metadata["licence"], doc.metadata["technique_count"]) == (
        "stratus-red-team", "Apache-2.0", 3)
    by_id = {o["id"]: o for o in doc.objects}
    admin = by_id["aws.persistence.iam-create-admin-user"]
    assert admin["tactics"] == ["Persistence", "Privilege Escalation"] and admin["catalog_ids"] == ["T1136.003"]
    assert {(e["eventName"], e["readOnly"], e["records"]) for e in admin["events"]} == {
        ("AssumeRole", True, 1), ("CreateUser", False, 1), ("CreateAccessKey", False, 2),
        ("UpdateFunctionCode20150331v2", False, 1)}  # distinct events with their record count, names as recorded
    ransomware = by_id["aws.impact.s3-ransomware-batch-deletion"]
    assert ransomware["catalog_ids"] == ["T1485.A003"] and ransomware["events"] == []  # no detonation log
    for ordinal, obj in enumerate(doc.objects):
        entry = doc.metadata["files"][ordinal]
        assert entry["path"] == f"{PAGES}/{obj['id']}.md"
        assert entry["sha256"] == hashlib.sha256((FIXTURE / entry["path"]).read_bytes()).hexdigest()
        if obj["events"]:
            assert entry["detonation_sha256"] == hashlib.sha256((FIXTURE / entry["detonation_log"]).read_bytes()).hexdigest()
    assert knowledge.read_stratus(FIXTURE).sha256 == doc.sha256  # unchanged folder: same hash, reload skipped


def test_a_changed_detonation_log_changes_the_document_hash():
    pages, logs, licence = _files(PAGES), _files(LOGS), (FIXTURE / "LICENSE").read_bytes()
    before = knowledge.parse_stratus("stratus-red-team", pages, logs, licence).sha256
    path = f"{LOGS}/aws.defense-evasion.cloudtrail-stop.json"
    edited = {**logs, path: logs[path].replace(b"StopLogging", b"DeleteTrail")}
    assert knowledge.parse_stratus("stratus-red-team", pages, edited, licence).sha256 != before


@pytest.mark.parametrize(("folder", "name", "data", "reason"), [
    (PAGES, "aws.x.no-mappings.md", b"---\ntitle: x\n---\n\n## Description\n", "no '## Mappings' section"),
    (PAGES, "aws.x.no-tactic.md", b"## Mappings\n\n- Threat Technique Catalog for AWS:\n    - [x](y) (T1485)\n\n## D\n",
     "no MITRE ATT&CK tactic"),
    (LOGS, "aws.defense-evasion.cloudtrail-stop.json", b"{not json", "not JSON"),
    (LOGS, "aws.defense-evasion.cloudtrail-stop.json", b'{"Records": []}', "not a detonation log"),
    (LOGS, "aws.defense-evasion.cloudtrail-stop.json", b'[{"eventName": "StopLogging"}]', "not a CloudTrail record"),
])
def test_a_bad_file_is_named(folder, name, data, reason):
    pages, logs = _files(PAGES), _files(LOGS)
    (pages if folder == PAGES else logs)[f"{folder}/{name}"] = data
    with pytest.raises(bundle.BundleError) as caught:
        knowledge.parse_stratus("stratus-red-team", pages, logs, (FIXTURE / "LICENSE").read_bytes())
    assert caught.value.object_ref.startswith(f"{folder}/{name}") and reason in caught.value.reason


def test_no_licence_no_load():
    with pytest.raises(bundle.BundleError, match="LICENSE"):
        knowledge.parse_stratus("stratus-red-team", _files(PAGES), _files(LOGS), None)
    with pytest.raises(bundle.BundleError, match="no technique pages"):
        knowledge.parse_stratus("stratus-red-team", {}, {}, (FIXTURE / "LICENSE").read_bytes())


def test_the_folder_is_read_as_stratus_and_is_a_default_source_when_present(tmp_path):
    doc, kind = knowledge.read_source(str(FIXTURE), lambda ref: pytest.fail("a folder is not fetched"))
    assert kind == "stratus_red_team" and len(doc.objects) == 3
    cfg = dataclasses.replace(settings.load(), shared_dir=tmp_path, knowledge_source=None)
    (tmp_path / "stratus-red-team" / PAGES).mkdir(parents=True)
    assert sources.knowledge_sources(cfg, None) == [sources.CTID_AWS_URL, str(tmp_path / "stratus-red-team")]


@pytest.mark.shared
def test_the_real_stratus_folder(shared_dir):
    folder = shared_dir / "stratus-red-team"
    if not (folder / PAGES).is_dir():
        pytest.skip(f"no Stratus Red Team folder under {shared_dir}")
    doc = knowledge.read_stratus(folder)
    assert "7c9a7a5" in doc.metadata["upstream"]
    assert len(doc.objects) == 44  # the AWS techniques at commit 7c9a7a5
    assert sum(bool(o["catalog_ids"]) for o in doc.objects) == 21  # the others name tactics only
    assert sum(bool(o["events"]) for o in doc.objects) == 35  # detonation logs
    stop = next(o for o in doc.objects if o["id"] == "aws.defense-evasion.cloudtrail-stop")
    assert stop["catalog_ids"] == ["T1562.008"] and [e["eventName"] for e in stop["events"]] == ["StopLogging"]
