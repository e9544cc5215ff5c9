"""Sigma and Elastic rule repositories: the real corpora in ../shared, and malformed files written here."""

import pytest

from dagster_project.lib.detections.record import problem
from dagster_project.lib.sources.accounts import Reject
from dagster_project.lib.sources.rule_repos import declared_tags, read_elastic, read_sigma

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def sigma(shared_dir):
    return list(read_sigma(shared_dir / "sigma" / "rules" / "cloud"))


@pytest.fixture(scope="module")
def elastic(shared_dir):
    return list(read_elastic(shared_dir / "elastic" / "rules" / "integrations" / "aws"))


def test_sigma_loads_only_the_aws_rules(sigma):
    # 225 cloud rules, of which 57 are AWS CloudTrail (Azure, GCP, M365 skipped)
    assert len(sigma) == 57
    assert all(isinstance(r, dict) and problem(r) is None for r in sigma)
    assert {r["service"] for r in sigma} == {"sigma"}
    assert len({r["native_id"] for r in sigma}) == 57
    rule = next(r for r in sigma if r["native_id"] == "4db60cc0-36fb-42b7-9b58-a5b53019fb74")
    assert rule["name"] == "AWS CloudTrail Important Change"
    assert rule["related"] == {"path": "aws/cloudtrail/aws_cloudtrail_disable_logging.yml"}
    assert rule["api_object"]["date"] == "2020-01-21"  # YAML dates made JSON-safe
    assert declared_tags(rule) == [("T1685.002", "attack.t1685.002")]  # the tactic tag is not a technique


def test_elastic_loads_every_aws_rule(elastic):
    assert len(elastic) == 194
    assert all(isinstance(r, dict) and problem(r) is None for r in elastic)
    rule = next(r for r in elastic if r["native_id"] == "8446517c-f789-11ee-8ad0-f661ea17fbce")
    assert rule["api_object"]["metadata"]["maturity"] == "production"
    assert declared_tags(rule) == [("T1552", "threat.technique"), ("T1552.005", "threat.subtechnique"),
                                   ("T1078", "threat.technique"), ("T1078.004", "threat.subtechnique")]
    assert sum(1 for r in elastic if declared_tags(r)) > 180


def test_declared_tags_dedupes_and_ignores_other_records():
    sigma = {"detection_type": "sigma_rule",
             "api_object": {"tags": ["attack.t1078.004", "attack.T1078.004", "attack.persistence", "attack.g0016",
                                     "cve.2021-1234", "attack.t1098"]}}
    assert declared_tags(sigma) == [("T1078.004", "attack.t1078.004"), ("T1078.004", "attack.T1078.004"),
                                    ("T1098", "attack.t1098")]
    assert declared_tags({"detection_type": "event_rule", "api_object": {"tags": ["attack.t1078"]}}) == []


def test_malformed_files_are_rejected_by_name(tmp_path):
    (tmp_path / "good.yml").write_text("title: ok\nid: 11111111-1111-1111-1111-111111111111\n"
                                       "logsource: {product: aws, service: cloudtrail}\n"
                                       "detection: {sel: {eventName: StopLogging}, condition: sel}\n")
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    (tmp_path / "no_id.yml").write_text("title: x\nlogsource: {product: aws}\ndetection: {condition: sel}\n")
    (tmp_path / "azure.yml").write_text("title: x\nid: a\nlogsource: {product: azure}\ndetection: {c: 1}\n")
    items = list(read_sigma(tmp_path))
    rejects = sorted((r for r in items if isinstance(r, Reject)), key=lambda r: r.object_ref)
    assert [r["native_id"] for r in items if isinstance(r, dict)] == ["11111111-1111-1111-1111-111111111111"]
    assert [r.object_ref for r in rejects] == [str(tmp_path / "broken.yml"), str(tmp_path / "no_id.yml")]
    assert "not valid YAML" in rejects[0].reason and "lacks id" in rejects[1].reason

    (tmp_path / "bad.toml").write_text('[rule]\nname = "unterminated\n')
    (tmp_path / "partial.toml").write_text('[metadata]\nmaturity = "production"\n[rule]\nname = "x"\n')
    rejects = list(read_elastic(tmp_path))
    assert [(r.object_ref, r.reason.split(":")[0]) for r in rejects] == [
        (str(tmp_path / "bad.toml"), "not valid TOML"),
        (str(tmp_path / "partial.toml"), "Elastic rule lacks rule.rule_id")]
