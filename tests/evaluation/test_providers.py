"""The Google Cloud and Azure corpora as what a project or subscription would hold: built from the rules' logic
alone, never their labels (lib/evaluation/providers.py)."""

import json

import pytest

from dagster_project.lib.evaluation import providers
from dagster_project.lib.parsing import parse

SIGMA_GCP = {"selection": {"gcp.audit.method_name|endswith": [".serviceAccounts.disable", ".serviceAccounts.delete"]},
             "filter": {"protoPayload.serviceName": "iam.googleapis.com"}, "condition": "selection and not filter"}
SIGMA_AZURE = {"selection": {"operationName": ["MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE"]},
               "keywords": ["anything"], "condition": "selection or keywords"}


def _methods(record):
    return {(s.value, s.qualifier) for s in parse(record["detection_type"], record).signals
            if s.signal_type in ("method", "operation")}


def test_sigma_gcp_rules_become_log_metric_filters_without_negated_selections():
    text = providers.logging_filter(providers.sigma_tests(SIGMA_GCP))
    # a Logging string literal escapes its backslashes: the regular expression is \.serviceAccounts\.disable$
    assert text == r'(protoPayload.methodName=~"\\.serviceAccounts\\.disable$" OR ' \
                   r'protoPayload.methodName=~"\\.serviceAccounts\\.delete$")'
    record = {"detection_type": "log_metric", "api_object": {"name": "m", "filter": text}}
    assert _methods(record) == {("%.serviceaccounts.disable", "like"), ("%.serviceaccounts.delete", "like")}


def test_sigma_azure_rules_become_kql_on_the_operation_name():
    query = providers.kql_query(providers.sigma_tests(SIGMA_AZURE), "AzureActivity")
    assert query == 'AzureActivity\n| where OperationNameValue in~ ("MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE")'


def test_csa_like_patterns_become_regular_expressions_the_parser_reads_back():
    text = providers.csa_filter([("protoPayload.methodName", ["like"], ["google.iam.admin.%.SetIAMPolicy"]),
                                 ("resource.type", [], ["project", "folder"])])
    record = {"detection_type": "log_metric", "api_object": {"name": "m", "filter": text}}
    assert _methods(record) == {("google.iam.admin.%.setiampolicy", "like")}


def test_sigma_azure_risk_detections_become_kql_on_the_risk_event_type(shared_dir):
    root = shared_dir / "sigma/rules/cloud/azure"
    if not root.is_dir():
        pytest.skip("sigma/rules/cloud/azure not in DCV_SHARED")
    records, _ = providers.corpus_records("sigma_azure", root)
    query = next(r for r in records if "passwordSpray" in json.dumps(r["api_object"])
                 )["api_object"]["criteria"]["allOf"][0]["query"]
    assert query == 'AADUserRiskEvents\n| where RiskEventType in~ ("passwordSpray")'


def test_csa_tests_on_one_field_are_alternatives():
    # CSA 5.01: method = InsertJob OR method = Query; both tests ANDed would require a method with two names
    text = providers.csa_filter([("protoPayload.methodName", [], ["google.cloud.bigquery.v2.JobService.InsertJob"]),
                                 ("protoPayload.methodName", [], ["google.cloud.bigquery.v2.JobService.Query"])])
    assert text == ('(protoPayload.methodName="google.cloud.bigquery.v2.JobService.InsertJob" OR '
                    'protoPayload.methodName="google.cloud.bigquery.v2.JobService.Query")')
    record = {"detection_type": "log_metric", "api_object": {"name": "m", "filter": text}}
    assert _methods(record) == {("google.cloud.bigquery.v2.jobservice.insertjob", "exact"),
                                ("google.cloud.bigquery.v2.jobservice.query", "exact")}


def test_operation_names_keep_their_characters():
    # Entra ID writes an en dash in this operation's name: an escaped \u2013 would be another name
    selection = {"properties.message": ["Update application \u2013 Certificates and secrets management"]}
    query = providers.kql_query(providers.sigma_tests({"selection": selection, "condition": "selection"}),
                                "AuditLogs")
    record = {"detection_type": "scheduled_query_rule",
              "api_object": {"name": "q", "criteria": {"allOf": [{"query": query}]}}}
    assert _methods(record) == {("update application \u2013 certificates and secrets management", "exact")}


@pytest.mark.parametrize("corpus", sorted(providers.CORPORA))
def test_corpus_records_carry_no_labels(shared_dir, corpus):
    _, _, relative = providers.CORPORA[corpus]
    if not (shared_dir / relative).is_dir():
        pytest.skip(f"{relative} not in DCV_SHARED")
    records, labels = providers.corpus_records(corpus, shared_dir / relative)
    assert records and len(records) == len(labels)
    assert sum(1 for tags in labels.values() if tags) >= 7
    for record in records:
        text = json.dumps(record["api_object"]).lower()
        assert "attack." not in text and '"t1' not in text and "tags" not in text
