"""Navigator layers per provider: an organization on AWS, Google Cloud and Azure gets each provider's own
coverage and gaps layers beside the organization's, each divided by that provider's accounts only."""

from dagster_project.lib.exports.coverage_layers import Cell, Coverage, build_layers
from tests.lib.test_coverage_layers import strict

ACCOUNTS = {"111111111111": "aws-prod", "acme-prod-analytics": "acme-prod-analytics",
            "5f1c3a2e-8b4d-4c6a-9e2f-1a7b3c9d0e42": "azure-sub"}
PROVIDERS = {"111111111111": "aws", "acme-prod-analytics": "gcp", "5f1c3a2e-8b4d-4c6a-9e2f-1a7b3c9d0e42": "azure"}


def _coverage(providers=PROVIDERS):
    cells = [Cell(a, "T1098.003", covered=a != "111111111111", score=0.0 if a == "111111111111" else 1.0,
                  risk=80.0 if a == "111111111111" else None, severity="critical" if a == "111111111111" else None,
                  gap_status="open" if a == "111111111111" else None) for a in ACCOUNTS]
    cells.append(Cell("5f1c3a2e-8b4d-4c6a-9e2f-1a7b3c9d0e42", "T1098.005", covered=False, score=0.0, risk=40.0,
                      severity="medium", gap_status="open"))
    return Coverage("18.1", dict(ACCOUNTS), cells, [], {"T1098.003": ("IaaS",), "T1098.005": ("Identity Provider",)},
                    providers)


def test_each_provider_has_its_coverage_and_gaps_layer():
    layers = build_layers(_coverage())
    assert {f for f in layers if f.startswith("provider-")} == {
        f"provider-{p}{kind}.json" for p in ("aws", "gcp", "azure") for kind in ("", "-gaps")}
    by_id = {t["techniqueID"]: t for t in strict(layers["provider-azure.json"])["techniques"]}
    assert by_id["T1098.003"]["score"] == 100 and by_id["T1098.003"]["comment"].startswith("covered in 1 of 1")
    assert "T1098.005" not in {t["techniqueID"] for t in strict(layers["provider-gcp.json"])["techniques"]}
    organization = {t["techniqueID"]: t for t in strict(layers["organization.json"])["techniques"]}
    assert organization["T1098.003"]["comment"].startswith("covered in 2 of 3")
    assert layers["provider-aws-gaps.json"]["name"] == "aws: organization gaps by risk"


def test_one_provider_adds_no_provider_layers():
    only_aws = {a: "aws" for a in ACCOUNTS}
    assert not [f for f in build_layers(_coverage(only_aws)) if f.startswith("provider-")]
