"""Event names paired with the event source that records them — never a wrong source:name pair.

Fixes: several sources × several names (structure, then the seed, else a bare name); Lambda's API-versioned
names; Route 53 Domains calls a rule files under route53.amazonaws.com."""

import json

from dagster_project.lib.parsing import parse
from dagster_project.lib.parsing.event_sources import unversioned


def _api(logic):
    return {(s.signal_type, s.value, s.qualifier) for s in logic.signals
            if s.signal_type in ("api_call", "api_call_name", "service")}


def _kql(query, language="kuery"):
    return parse("elastic_rule", {"api_object": {"rule": {"query": query, "language": language}}, "related": {}})


def _sigma(selection):
    return parse("sigma_rule", {"api_object": {"logsource": {"product": "aws", "service": "cloudtrail"},
                                               "detection": {"sel": selection, "condition": "sel"}}})


# --- 1. several sources and several names ----------------------------------------------------------------

def test_kql_groups_pair_each_name_with_its_own_provider():
    logic = _kql('event.dataset: "aws.cloudtrail" and ('
                 '(event.provider: "organizations.amazonaws.com" and event.action: ("DescribeOrganization" or '
                 '"ListAccounts")) or (event.provider: "iam.amazonaws.com" and event.action: ("ListAccountAliases" '
                 'or "NotInTheSeed")))')
    assert _api(logic) == {("api_call", "organizations.amazonaws.com:DescribeOrganization", "exact"),
                           ("api_call", "organizations.amazonaws.com:ListAccounts", "exact"),
                           ("api_call", "iam.amazonaws.com:ListAccountAliases", "exact"),
                           ("api_call", "iam.amazonaws.com:NotInTheSeed", "exact")}


def test_eql_sequence_brackets_are_separate_scopes():
    logic = _kql('sequence by user.name [any where event.provider == "iam.amazonaws.com" and '
                 'event.action == "CreateAccessKey"] [any where event.provider == "sts.amazonaws.com" and '
                 'event.action == "GetCallerIdentity"]', language="eql")
    assert _api(logic) == {("api_call", "iam.amazonaws.com:CreateAccessKey", "exact"),
                           ("api_call", "sts.amazonaws.com:GetCallerIdentity", "exact")}


def test_flat_lists_resolve_through_the_seed_or_stay_bare():
    logic = _kql('event.provider: ("sts.amazonaws.com" or "rds.amazonaws.com" or "kms.amazonaws.com" or '
                 '"bedrock.amazonaws.com" or "lambda.amazonaws.com") and event.action: ("GetCallerIdentity" or '
                 '"DescribeDBSnapshots" or "ListAliases" or "UnknownCall")')
    api = _api(logic)
    assert api == {("api_call", "sts.amazonaws.com:GetCallerIdentity", "exact"),
                   ("api_call", "rds.amazonaws.com:DescribeDBSnapshots", "exact"),
                   # the seed knows ListAliases in both KMS and Lambda, both watched: both pairs are real
                   ("api_call", "kms.amazonaws.com:ListAliases", "exact"),
                   ("api_call", "lambda.amazonaws.com:ListAliases", "exact"),
                   ("api_call_name", "UnknownCall", "exact")}
    assert not any(v.startswith(("bedrock.amazonaws.com:", "sts.amazonaws.com:ListAliases")) for _, v, _ in api)


def test_sigma_list_of_sources_never_invents_a_pair():
    logic = _sigma({"eventSource": ["iam.amazonaws.com", "organizations.amazonaws.com"],
                    "eventName": ["DescribeOrganization", "GetAccountSummary", "SomethingElse"]})
    assert _api(logic) == {("api_call", "organizations.amazonaws.com:DescribeOrganization", "exact"),
                           ("api_call", "iam.amazonaws.com:GetAccountSummary", "exact"),
                           ("api_call_name", "SomethingElse", "exact")}


def test_event_pattern_with_several_sources():
    pattern = {"detail": {"eventSource": ["iam.amazonaws.com", "sts.amazonaws.com"],
                          "eventName": ["CreateUser", "AssumeRole"]}}
    logic = parse("event_rule", {"api_object": {"EventPattern": json.dumps(pattern)}, "related": {}})
    assert {v for t, v, _ in _api(logic) if t == "api_call"} == {"iam.amazonaws.com:CreateUser",
                                                                 "sts.amazonaws.com:AssumeRole"}


# --- 2. Lambda's API-versioned event names ---------------------------------------------------------------

def test_lambda_versioned_names_read_as_the_operation():
    logic = _kql('event.provider: "lambda.amazonaws.com" and event.action: (DeleteFunction or DeleteFunction20*)')
    assert _api(logic) == {("api_call", "lambda.amazonaws.com:DeleteFunction", "exact")}
    pattern = {"source": ["aws.lambda"], "detail": {"eventName": ["UpdateFunctionCode20150331v2",
                                                                 "CreateFunction20150331"]}}
    logic = parse("event_rule", {"api_object": {"EventPattern": json.dumps(pattern)}, "related": {}})
    assert _api(logic) == {("api_call", "lambda.amazonaws.com:UpdateFunctionCode", "exact"),
                           ("api_call", "lambda.amazonaws.com:CreateFunction", "exact")}


def test_unversioned_only_touches_lambda():
    assert unversioned("PublishLayerVersion20181031", "exact", ["lambda.amazonaws.com"]) == (
        "PublishLayerVersion", "exact")
    assert unversioned("AddPermission20150331v2", "exact") == ("AddPermission", "exact")  # seed: Lambda only
    assert unversioned("DeleteFunction", "prefix", ["lambda.amazonaws.com"]) == ("DeleteFunction", "prefix")
    assert unversioned("Delete", "prefix", ["lambda.amazonaws.com"]) == ("Delete", "prefix")
    assert unversioned("CreateThing20150331", "exact", ["s3.amazonaws.com"]) == ("CreateThing20150331", "exact")


# --- 3. Route 53 Domains --------------------------------------------------------------------------------

def test_route53_domain_calls_are_recorded_by_route53domains():
    logic = _sigma({"eventSource": "route53.amazonaws.com", "eventName": "TransferDomainToAnotherAwsAccount"})
    assert _api(logic) == {("api_call", "route53domains.amazonaws.com:TransferDomainToAnotherAwsAccount",
                            "exact")}
    assert "recorded under route53domains.amazonaws.com" in logic.reason
    # a real Route 53 API call keeps its source, and names the seed does not know are not moved
    logic = _sigma({"eventSource": "route53.amazonaws.com",
                    "eventName": ["ChangeResourceRecordSets", "DisableDomainTransferLock"]})
    assert _api(logic) == {("api_call", "route53.amazonaws.com:ChangeResourceRecordSets", "exact"),
                           ("api_call", "route53domains.amazonaws.com:DisableDomainTransferLock", "exact")}


def test_real_corpus_pairs_are_possible(shared_dir):
    """No Elastic/Sigma rule yields a pair the seed contradicts between the rule's own sources."""
    import tomllib

    import yaml

    from dagster_project.lib.parsing.event_sources import seed_sources
    docs = [("elastic_rule", tomllib.loads(p.read_text()))
            for p in sorted((shared_dir / "elastic/rules/integrations/aws").glob("*.toml"))]
    docs += [("sigma_rule", yaml.safe_load(p.read_text()))
             for p in sorted((shared_dir / "sigma/rules/cloud/aws").rglob("*.yml"))]
    bad = []
    for kind, doc in docs:
        for s in parse(kind, {"api_object": doc, "related": {}}).signals:
            if s.signal_type == "api_call" and s.qualifier == "exact":
                source, name = s.value.split(":", 1)
                known = seed_sources().get(name)
                if known and source not in known and len(parse(kind, {"api_object": doc}).monitored_entities
                                                             .get("event_sources", [])) > 1:
                    bad.append(s.value)
                assert not name.startswith("DeleteFunction20"), s.value
    assert not bad, bad


def test_lambda_operation_prefix_is_the_operation_unless_another_begins_with_it():
    logic = _kql('event.provider: lambda.amazonaws.com and event.action: (AddPermission* or '
                 'UpdateFunctionConfiguration* or GetFunction*)')
    assert _api(logic) == {("api_call", "lambda.amazonaws.com:AddPermission", "exact"),
                           ("api_call", "lambda.amazonaws.com:UpdateFunctionConfiguration", "exact"),
                           # GetFunctionConfiguration, GetFunctionUrlConfig, ... also begin with GetFunction
                           ("api_call", "lambda.amazonaws.com:GetFunction", "prefix")}
    # only under Lambda: another service's prefix is left alone
    logic = _kql('event.provider: iam.amazonaws.com and event.action: AddPermission*')
    assert _api(logic) == {("api_call", "iam.amazonaws.com:AddPermission", "prefix")}
