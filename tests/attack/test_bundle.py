"""Bundle reading without a database: both STIX versions, version detection, and each bad-input case."""

import gzip
import json
from pathlib import Path

import pytest

from dagster_project.lib.attack import bundle

FIXTURES = Path(__file__).parents[1] / "fixtures" / "attack"


def test_fixture_21_bundle_reads_version_from_collection():
    path = FIXTURES / "fixture-attack-2.0.json"
    parsed = bundle.parse(str(path), path.read_bytes())
    assert (parsed.attack_version, parsed.spec_version, parsed.domain) == ("2.0", "2.1", "enterprise-attack")
    assert parsed.counts["attack-pattern"] == 15


def _bad_cases(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    good = json.loads((FIXTURES / "fixture-attack-1.0.json").read_text())
    truncated = tmp_path / "truncated.json.gz"
    truncated.write_bytes(gzip.compress(json.dumps(good).encode())[:500])
    not_json = tmp_path / "not-json.json"
    not_json.write_text("<html>rate limited</html>")
    no_attack = tmp_path / "no-attack-1.0.json"
    no_attack.write_text(json.dumps({"type": "bundle", "id": "bundle--x", "objects": [
        {"type": "identity", "id": "identity--1", "name": "someone"}]}))
    missing = json.loads(json.dumps(good))
    victim = next(o for o in missing["objects"] if o["type"] == "attack-pattern")
    victim["external_references"] = []
    missing_id = tmp_path / "missing-id-1.0.json"
    missing_id.write_text(json.dumps(missing))
    return {
        "truncated gzip": (truncated, "(file)", "truncated or corrupt gzip"),
        "non-JSON": (not_json, "(file)", "not JSON"),
        "no ATT&CK objects": (no_attack, "bundle--x", "no ATT&CK objects"),
        "missing external id": (missing_id, victim["id"], "without a mitre-attack external_id"),
    }


@pytest.mark.parametrize("case", ["truncated gzip", "non-JSON", "no ATT&CK objects", "missing external id"])
def test_bad_input_names_file_and_object(tmp_path, case):
    path, object_ref, reason = _bad_cases(tmp_path)[case]
    with pytest.raises(bundle.BundleError) as caught:
        bundle.parse(str(path), path.read_bytes())
    message = str(caught.value)
    assert str(path) in message and object_ref in message and reason in message
