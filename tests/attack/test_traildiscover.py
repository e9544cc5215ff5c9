"""TrailDiscover as a knowledge source (lib/attack/knowledge.py): the folder read verbatim into one document with
its provenance (each event file's path and sha256, the CC BY 4.0 licence), bad files named, and the default
knowledge sources including the folder when DCV_SHARED has it. The last test reads the real folder."""

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from dagster_project.lib import settings
from dagster_project.lib.attack import bundle, knowledge, sources

FIXTURE = Path(__file__).parent.parent / "fixtures" / "traildiscover"


def test_the_folder_is_one_document_of_verbatim_events_with_provenance():
    doc = knowledge.read_traildiscover(FIXTURE)
    assert doc.source_file == "traildiscover"
    paths = ["events/CloudTrail/StopLogging.json", "events/SignIn/ConsoleLogin.json"]  # no .json.cloudtrail
    assert [f["path"] for f in doc.metadata["files"]] == paths
    for ordinal, path in enumerate(paths):
        data = (FIXTURE / path).read_bytes()
        assert doc.objects[ordinal] == json.loads(data)  # verbatim, in path order
        assert doc.metadata["files"][ordinal]["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc.metadata["licence"] == "CC BY 4.0"
    assert doc.metadata["upstream"].startswith("fixture")
    assert doc.metadata["event_count"] == 2
    assert knowledge.read_traildiscover(FIXTURE).sha256 == doc.sha256  # unchanged folder: same hash, reload skipped


def test_any_changed_file_changes_the_document_hash():
    files = {p: (FIXTURE / p).read_bytes() for p in ("events/CloudTrail/StopLogging.json",
                                                     "events/SignIn/ConsoleLogin.json")}
    licence = (FIXTURE / "LICENSE").read_bytes()
    before = knowledge.parse_traildiscover("traildiscover", files, licence).sha256
    edited = dict(files)
    edited["events/SignIn/ConsoleLogin.json"] = files["events/SignIn/ConsoleLogin.json"].replace(b"true", b"false")
    assert knowledge.parse_traildiscover("traildiscover", edited, licence).sha256 != before


@pytest.mark.parametrize(("path", "data", "reason"), [
    ("events/X/Broken.json", b"{not json", "not JSON"),
    ("events/X/List.json", b"[]", "not a TrailDiscover event"),
    ("events/X/NoName.json", b'{"eventSource": "x.amazonaws.com", "mitreAttackTechniques": [],'
                             b' "mitreAttackSubTechniques": [], "usedInWild": true, "incidents": []}',
     "eventName missing"),
    ("events/X/WildText.json", b'{"eventName": "X", "eventSource": "x.amazonaws.com", "mitreAttackTechniques": [],'
                               b' "mitreAttackSubTechniques": [], "usedInWild": "yes", "incidents": []}',
     "usedInWild missing or not a bool"),
])
def test_a_bad_event_file_is_named(path, data, reason):
    with pytest.raises(bundle.BundleError) as caught:
        knowledge.parse_traildiscover("traildiscover", {path: data}, (FIXTURE / "LICENSE").read_bytes())
    assert caught.value.object_ref == path and reason in caught.value.reason


def test_no_licence_no_load():
    files = {"events/SignIn/ConsoleLogin.json": (FIXTURE / "events/SignIn/ConsoleLogin.json").read_bytes()}
    with pytest.raises(bundle.BundleError, match="LICENSE"):
        knowledge.parse_traildiscover("traildiscover", files, None)
    with pytest.raises(bundle.BundleError, match="no event files"):
        knowledge.parse_traildiscover("traildiscover", {}, (FIXTURE / "LICENSE").read_bytes())


def test_a_folder_is_traildiscover_a_file_is_ctid(tmp_path):
    doc, kind = knowledge.read_source(str(FIXTURE), lambda ref: pytest.fail("a folder is not fetched"))
    assert (kind, doc.source_file) == ("traildiscover", "traildiscover")
    ctid = json.dumps({"metadata": {"attack_version": "16.1"}, "mapping_objects": []}).encode()
    doc, kind = knowledge.read_source(str(tmp_path / "aws.json"), lambda ref: ctid)
    assert kind == "ctid_mappings_explorer" and doc.metadata["attack_version"] == "16.1"


def test_default_knowledge_sources_add_the_traildiscover_folder_when_present(tmp_path):
    cfg = dataclasses.replace(settings.load(), shared_dir=tmp_path, knowledge_source=None)
    assert sources.knowledge_sources(cfg, None) == [sources.CTID_AWS_URL]
    (tmp_path / "traildiscover" / "events").mkdir(parents=True)
    assert sources.knowledge_sources(cfg, None) == [sources.CTID_AWS_URL, str(tmp_path / "traildiscover")]
    assert sources.knowledge_sources(cfg, "a.json") == ["a.json"]  # DCV_KNOWLEDGE_SOURCE wins
    assert sources.knowledge_attack_versions(cfg) == ["16.1"]  # CTID's name; the folder names no version


@pytest.mark.shared
def test_the_real_traildiscover_folder(shared_dir):
    folder = shared_dir / "traildiscover"
    if not (folder / "events").is_dir():
        pytest.skip(f"no TrailDiscover folder under {shared_dir}")
    doc = knowledge.read_traildiscover(folder)
    assert doc.metadata["licence"] == "CC BY 4.0" and "f96cbdb" in doc.metadata["upstream"]
    assert len(doc.objects) == 380  # events/<Service>/<Event>.json at commit f96cbdb (49 services)
    assert sum(o["usedInWild"] for o in doc.objects) == 275
    stop = doc.objects[[f["path"] for f in doc.metadata["files"]].index("events/CloudTrail/StopLogging.json")]
    assert "T1562.008 - Impair Defenses: Disable or Modify Cloud Logs" in stop["mitreAttackSubTechniques"]
