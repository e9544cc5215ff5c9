"""CloudWatch Logs filter patterns: the parser, and the real CIS AWS Foundations metric filters."""

import pytest

from dagster_project.lib.parsing import parse
from dagster_project.lib.parsing.filter_pattern import FilterSyntaxError, leaves, parse_json_pattern


def _filter(pattern, metric="M", namespace="CISBenchmark"):
    return parse("metric_filter", {"api_object": {
        "filterName": "f", "filterPattern": pattern, "logGroupName": "trail",
        "metricTransformations": [{"metricName": metric, "metricNamespace": namespace, "metricValue": "1"}]},
        "related": {}})


def _values(logic, signal_type, qualifier=None):
    return {s.value for s in logic.signals if s.signal_type == signal_type
            and (qualifier is None or s.qualifier == qualifier)}


# CIS AWS Foundations Benchmark (v1.2 - v3.0) metric filters, verbatim
CIS = {
    "unauthorized_api_calls": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") '
                              '&& ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }',
    "console_login_no_mfa": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
                            '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    "root_usage": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
                  '&& $.eventType != "AwsServiceEvent" }',
    "iam_policy_changes": "{($.eventSource=iam.amazonaws.com) && (($.eventName=DeleteGroupPolicy)||"
                          "($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||"
                          "($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||"
                          "($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||"
                          "($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||"
                          "($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||"
                          "($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||"
                          "($.eventName=DetachGroupPolicy))}",
    "iam_policy_changes_v12": "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||"
                              "($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||"
                              "($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||"
                              "($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||"
                              "($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||"
                              "($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||"
                              "($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
    "cloudtrail_changes": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) "
                          "|| ($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    "console_auth_failures": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "cmk_disable_deletion": "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||"
                            "($.eventName=ScheduleKeyDeletion)) }",
    "s3_bucket_policy": "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || "
                        "($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || "
                        "($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
                        "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
                        "($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
    "config_changes": "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||"
                      "($.eventName=DeleteDeliveryChannel) ||($.eventName=PutDeliveryChannel)||"
                      "($.eventName=PutConfigurationRecorder)) }",
    "security_groups": "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) "
                       "|| ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
                       "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
    "nacls": "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || "
             "($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || "
             "($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
    "network_gateways": "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || "
                        "($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || "
                        "($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }",
    "route_tables": "{($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || "
                    "($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || "
                    "($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || "
                    "($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable)) }",
    "vpc_changes": "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || "
                   "($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || "
                   "($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || "
                   "($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || "
                   "($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }",
    "organizations": '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || '
                     '($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || '
                     '($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || '
                     '($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || '
                     '($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || '
                     '($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || '
                     '($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || '
                     '($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || '
                     '($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || '
                     '($.eventName = "UpdateOrganizationalUnit")) }',
}


@pytest.mark.parametrize("name", sorted(CIS))
def test_every_cis_filter_parses_as_json(name):
    logic = _filter(CIS[name])
    assert logic.trigger_conditions["syntax"] == "json", logic.reason
    assert logic.parse_confidence >= 0.5
    assert "CISBenchmark/M" in _values(logic, "metric")


def test_cloudtrail_changes_all_five_calls():
    logic = _filter(CIS["cloudtrail_changes"])
    assert _values(logic, "api_call") == {f"cloudtrail.amazonaws.com:{n}" for n in
                                          ("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging")}
    assert logic.parse_confidence == 0.8  # via the seed, not an explicit eventSource


def test_explicit_event_source_pairs_with_every_name():
    logic = _filter(CIS["iam_policy_changes"])
    assert len(_values(logic, "api_call")) == 16
    assert "iam.amazonaws.com:DetachGroupPolicy" in _values(logic, "api_call")
    assert logic.parse_confidence == 0.9
    assert _values(_filter(CIS["cmk_disable_deletion"]), "api_call") == {
        "kms.amazonaws.com:DisableKey", "kms.amazonaws.com:ScheduleKeyDeletion"}
    assert "organizations.amazonaws.com:LeaveOrganization" in _values(_filter(CIS["organizations"]), "api_call")
    assert "ec2.amazonaws.com:DisassociateRouteTable" in _values(_filter(CIS["route_tables"]), "api_call")
    assert "s3.amazonaws.com:PutBucketPolicy" in _values(_filter(CIS["s3_bucket_policy"]), "api_call")
    assert "config.amazonaws.com:StopConfigurationRecorder" in _values(_filter(CIS["config_changes"]), "api_call")


def test_names_without_source_resolve_through_seed_and_siblings():
    # PutUserPolicy etc. are in the seed (iam); DeleteGroupPolicy is not but shares its siblings' source
    logic = _filter(CIS["iam_policy_changes_v12"])
    assert "iam.amazonaws.com:PutUserPolicy" in _values(logic, "api_call")
    assert "iam.amazonaws.com:DeleteGroupPolicy" in _values(logic, "api_call")
    sg = _filter(CIS["security_groups"])
    assert "ec2.amazonaws.com:DeleteSecurityGroup" in _values(sg, "api_call")
    # no seed-known name at all: bare names, never a guessed source
    nacl = _filter(CIS["nacls"])
    assert "CreateNetworkAcl" in _values(nacl, "api_call_name") and not _values(nacl, "api_call")


def test_conditions_distinguish_root_and_mfa_and_failures():
    root = _filter(CIS["root_usage"])
    assert _values(root, "condition") == {"userIdentity.type=Root", "userIdentity.invokedBy NOT EXISTS",
                                          "eventType!=AwsServiceEvent"}
    assert not _values(root, "api_call")
    mfa = _filter(CIS["console_login_no_mfa"])
    assert _values(mfa, "api_call") == {"signin.amazonaws.com:ConsoleLogin"}
    assert "additionalEventData.MFAUsed!=Yes" in _values(mfa, "condition")
    fails = _filter(CIS["console_auth_failures"])
    assert _values(fails, "condition") == {"errorMessage=Failed authentication"}
    unauth = _filter(CIS["unauthorized_api_calls"])
    assert {"errorCode=*UnauthorizedOperation", "errorCode=AccessDenied*", "eventName!=HeadBucket"} <= _values(
        unauth, "condition")


def test_precedence_and_binds_tighter_than_or():
    tree = parse_json_pattern('{ ($.eventName = CreateTrail) || ($.eventName = "UpdateTrail") '
                              '&& ($.userIdentity.type = "Root") }')
    assert tree["op"] == "or"
    assert tree["args"][0] == {"field": "eventName", "cmp": "=", "value": "CreateTrail", "kind": "string"}
    assert tree["args"][1]["op"] == "and"
    grouped = parse_json_pattern("{ (($.a = 1) || ($.b = 2)) && $.c = x }")
    assert grouped["op"] == "and" and grouped["args"][0]["op"] == "or"


def test_operators_quoting_and_special_values():
    tree = parse_json_pattern(r'{ $.a != "x y" && $.b >= 10 && $.c < -1.5 && $.d <= 3 && $.e > 0 '
                              r'&& $.f = "say \"hi\"" && $.g IS NULL && $.h NOT EXISTS && $.i IS TRUE '
                              r'&& $.j = %ab+c% && $.k[0].name = v }')
    got = {leaf["field"]: (leaf["cmp"], leaf["value"], leaf["kind"]) for leaf in leaves(tree)}
    assert got["a"] == ("!=", "x y", "string")
    assert got["b"] == (">=", "10", "number")
    assert got["c"] == ("<", "-1.5", "number")
    assert got["f"] == ("=", 'say "hi"', "string")
    assert got["g"] == ("is", "null", "null")
    assert got["h"] == ("not exists", None, "exists")
    assert got["i"] == ("is", "true", "bool")
    assert got["j"] == ("=", "ab+c", "regex")
    assert got["k[0].name"] == ("=", "v", "string")


def test_wildcard_event_name_is_a_prefix():
    logic = _filter("{ ($.eventSource = iam.amazonaws.com) && ($.eventName = Delete*) }")
    assert _values(logic, "api_call", "prefix") == {"iam.amazonaws.com:Delete"}
    assert logic.parse_confidence == 0.6
    inner = _filter("{ $.eventName = *Key }")
    assert not _values(inner, "api_call") and inner.parse_confidence <= 0.3


def test_regex_is_low_confidence():
    logic = _filter("{ ($.eventSource = iam.amazonaws.com) && ($.eventName = %Delete.*Policy%) }")
    assert logic.parse_confidence <= 0.3 and "regular expression" in logic.reason


@pytest.mark.parametrize("pattern", [
    "{ ($.eventName = CreateTrail ", "{ $.eventName = }", "{ eventName = x }", "{ ($.a = 1) ) }",
    "{ $.a = 1 } trailing", "{ $.a IS MAYBE }", "{ $.a = 1 &&& $.b = 2 }", "{", "{}",
])
def test_malformed_patterns_give_low_confidence_and_a_reason(pattern):
    logic = _filter(pattern)
    assert logic.parse_confidence <= 0.3
    assert "unparseable filter pattern" in logic.reason
    with pytest.raises(FilterSyntaxError):
        parse_json_pattern(pattern)


@pytest.mark.parametrize("pattern", ['"ERROR"', "ERROR WARN", "?ERROR ?WARN", "[ip, user, ..., status_code=4*]"])
def test_text_and_space_delimited_patterns_are_log_patterns(pattern):
    logic = _filter(pattern)
    assert _values(logic, "log_pattern") == {" ".join(pattern.split())}
    assert logic.parse_confidence == 0.3 and logic.trigger_conditions["syntax"] == "text"


def test_empty_pattern_matches_everything():
    logic = _filter("")
    assert logic.parse_confidence == 0.0 and "every log event" in logic.reason


def test_logs_insights_query():
    logic = parse("logs_insights_query", {"api_object": {
        "queryString": "fields @timestamp | filter eventSource = 'cloudtrail.amazonaws.com' "
                       "and eventName in ['StopLogging', 'DeleteTrail'] | stats count(*) by userIdentity.arn",
        "logGroupNames": ["trail"]}})
    assert _values(logic, "api_call") == {"cloudtrail.amazonaws.com:StopLogging",
                                          "cloudtrail.amazonaws.com:DeleteTrail"}
    assert logic.monitored_entities["log_groups"] == ["trail"]
