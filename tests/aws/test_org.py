"""Organization fan-out against moto: assumed roles per account, denials, read-only traffic, bounded pool."""

import json
import threading
import time

import boto3
import requests

from dagster_project.lib.aws import SERVICES, clients, eventbridge, org, policy

REGIONS = ["us-east-1", "eu-west-1"]
MANAGEMENT = "123456789012"
ADMIN_ROLE = "OrganizationAccountAccessRole"  # moto issues credentials for any role ARN while auth is off
SCAN_ROLE = "dcv-scan"


def create_accounts(session, n: int) -> list[str]:
    o = session.client("organizations")
    o.create_organization(FeatureSet="ALL")
    return [o.create_account(AccountName=f"member-{i}", Email=f"m{i}@example.com")["CreateAccountStatus"]["AccountId"]
            for i in range(n)]


def member(session, account_id: str) -> boto3.Session:
    """A session inside a member account, to create its resources (moto maps it to that account)."""
    return org.assume(session, account_id, ADMIN_ROLE)


def instrument(monkeypatch, canned, on_session) -> None:
    """Apply `on_session` (and moto's gap answers) to every session the scan assumes."""
    real = org.assume

    def assume(session, account_id, role_name):
        assumed = real(session, account_id, role_name)
        on_session(assumed)
        return canned.fill_gaps(assumed)

    monkeypatch.setattr(org, "assume", assume)


def record_operations(session, seen: list) -> None:
    # before-parameter-build fires for every call, before the read-only guard and before canned answers.
    def keep(model, **_):
        seen.append(f"{model.service_model.service_name}:{model.name}")  # = IAM prefix here

    session.events.register("before-parameter-build.*.*", keep)


def test_scan_organization_assumes_a_role_in_each_account(aws, canned, monkeypatch):
    accounts = create_accounts(aws, 2)
    for account_id in accounts:
        for region in REGIONS:
            member(aws, account_id).client("events", region_name=region).put_rule(
                Name=f"rule-{account_id}", EventPattern=json.dumps({"source": ["aws.iam"]}))
    member(aws, accounts[1]).client("logs").create_log_group(logGroupName="trail")
    member(aws, accounts[1]).client("logs").put_metric_filter(
        logGroupName="trail", filterName="root", filterPattern="{ $.userIdentity.type = \"Root\" }",
        metricTransformations=[{"metricName": "Root", "metricNamespace": "CIS", "metricValue": "1"}])
    seen: list[str] = []
    record_operations(aws, seen)
    instrument(monkeypatch, canned, lambda s: record_operations(s, seen))

    listed = org.list_accounts(aws)
    assert {a["Id"] for a in listed} == {MANAGEMENT, *accounts}
    results = {r.account_id: r for r in org.scan_organization(aws, listed, SCAN_ROLE, REGIONS, max_workers=2)}

    assert set(results) == {MANAGEMENT, *accounts}
    for account_id in accounts:
        r = results[account_id]
        assert (r.status, r.errors, r.services_scanned) == ("success", [], len(SERVICES))
        assert r.started_at <= r.completed_at
        rules = [x for x in r.records if x["detection_type"] == "event_rule"]
        # every record was read with that account's credentials: the ARNs moto returns carry its id
        assert sorted(x["native_id"] for x in rules) == sorted(
            f"arn:aws:events:{region}:{account_id}:rule/rule-{account_id}" for region in REGIONS)
    assert [x["native_id"] for x in results[accounts[1]].records if x["service"] == "cloudwatch_logs"] == [
        "trail:root"]
    assert results[MANAGEMENT].records == []

    # Read-only by construction: every operation sent was List/Describe/Get, apart from sts:AssumeRole, and
    # every one is in the IAM policies docs/collection.md prints.
    ops = set(seen)
    assert {op for op in ops if not clients.is_read(op.split(":")[1])} == {"sts:AssumeRole"}
    assert ops <= set(policy.SCANNED_ROLE_ACTIONS) | set(policy.SCANNER_ACTIONS)
    assert seen.count("sts:AssumeRole") == 3


def test_single_account_mode_discovers_regions(aws):
    for region in ("us-east-1", "ap-southeast-2"):
        aws.client("events", region_name=region).put_rule(Name="r", EventPattern='{"source": ["aws.s3"]}')
    result = org.scan_account(aws, MANAGEMENT, None, None, services={"eventbridge": eventbridge.collect})
    assert result.status == "success" and result.services_scanned == 1
    assert sorted(r["region"] for r in result.records) == ["ap-southeast-2", "us-east-1"]
    assert "eu-west-1" in org.regions(aws)


def test_denied_accounts_are_reported_and_the_rest_is_scanned(aws, canned, monkeypatch, moto_reset):
    """The denial is real: moto evaluates IAM policies (reset-auth) for each request.

    - `good` has the scanned-role policy from lib/aws/policy.py (the one docs/collection.md prints);
    - `partial` has it plus an explicit Deny on config:* -> AccessDenied for Config in each region;
    - `denied` has a role allowing nothing -> AccessDenied everywhere;
    - `untrusted` is outside the scanner's own policy -> sts:AssumeRole is denied.
    The scanner is an IAM user of the management account with exactly the scanner policy (narrowed to three
    accounts). moto answers JSON-protocol denials with an XML body; the collector reads the code from it.
    Operations moto lacks are answered from canned data before any request (so never denied).
    The scan covers the services whose IAM checks moto gets right: with auth on, moto evaluates CloudWatch as
    `monitoring:*` (IAM says `cloudwatch:*`) and rejects GuardDuty/Security Hub (REST) requests signed with
    assumed-role credentials as SignatureDoesNotMatch.
    """
    services = {name: SERVICES[name] for name in ("cloudwatch_logs", "eventbridge", "config")}
    good, partial, denied, untrusted = create_accounts(aws, 4)
    read = policy.scanned_role_policy()
    no_config = {**read, "Statement": [*read["Statement"], {"Effect": "Deny", "Action": "config:*",
                                                            "Resource": "*"}]}
    nothing = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity",
                                                       "Resource": "*"}]}
    for account_id, doc in ((good, read), (partial, no_config), (denied, nothing), (untrusted, read)):
        iam = member(aws, account_id).client("iam")
        iam.create_role(RoleName=SCAN_ROLE, AssumeRolePolicyDocument=json.dumps(policy.trust_policy(MANAGEMENT)))
        iam.put_role_policy(RoleName=SCAN_ROLE, PolicyName="dcv", PolicyDocument=json.dumps(doc))
        member(aws, account_id).client("events").put_rule(Name="iam", EventPattern='{"source": ["aws.iam"]}')
    member(aws, good).client("config").put_config_rule(ConfigRule={"ConfigRuleName": "mfa", "Source": {
        "Owner": "AWS", "SourceIdentifier": "ROOT_ACCOUNT_MFA_ENABLED"}})
    scanner_doc = policy.scanner_policy(SCAN_ROLE)
    scanner_doc["Statement"][1]["Resource"] = [f"arn:aws:iam::{a}:role/{SCAN_ROLE}" for a in (good, partial, denied)]
    iam = aws.client("iam")
    iam.create_user(UserName="dcv-scanner")
    iam.put_user_policy(UserName="dcv-scanner", PolicyName="dcv", PolicyDocument=json.dumps(scanner_doc))
    key = iam.create_access_key(UserName="dcv-scanner")["AccessKey"]
    scanner = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                            region_name="us-east-1")
    instrument(monkeypatch, canned, lambda s: None)

    requests.post(f"{moto_reset}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        ids = [a["Id"] for a in org.list_accounts(scanner) if a["Id"] != MANAGEMENT]
        results = {r.account_id: r for r in org.scan_organization(scanner, ids, SCAN_ROLE, REGIONS, max_workers=4,
                                                                       services=services)}
    finally:
        requests.post(f"{moto_reset}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()

    ok = results[good]
    assert (ok.status, ok.errors, ok.services_scanned) == ("success", [], len(services))
    assert {r["detection_type"] for r in ok.records} == {"event_rule", "config_rule"}

    part = results[partial]
    assert part.status == "partial" and part.services_scanned == len(services) - 1
    assert {(e["region"], e["service"], e["error_code"]) for e in part.errors} == {
        (region, "config", "AccessDenied") for region in REGIONS}
    assert "not authorized to perform: config:DescribeConfigRules" in part.errors[0]["message"]
    assert all(e["message"].startswith(f"account {partial} ") for e in part.errors)
    assert any(r["detection_type"] == "event_rule" for r in part.records)

    none = results[denied]
    assert none.status == "failed" and none.records == [] and none.services_scanned == 0
    assert len(none.errors) == len(REGIONS) * len(services)
    assert {e["error_code"] for e in none.errors} == {"AccessDenied"}

    refused = results[untrusted]
    assert refused.status == "failed" and refused.records == []
    [e] = refused.errors
    assert (e["region"], e["service"], e["error_code"]) == (None, None, "AccessDenied")
    assert e["message"].startswith(f"account {untrusted}: ") and "AssumeRole" in e["message"]
    for r in results.values():
        for e in r.errors:
            assert key["SecretAccessKey"] not in e["message"] and key["AccessKeyId"] not in e["message"]


def test_scan_organization_keeps_a_bounded_number_of_accounts_in_flight(monkeypatch):
    pulled, running, peak = [], [0], [0]
    lock = threading.Lock()

    def fake_scan(session, account_id, role_name, regions, services):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.002)
        with lock:
            running[0] -= 1
        return org.ScanResult(account_id, None, None, "success")

    def accounts():
        for i in range(200):
            pulled.append(i)
            yield f"{i:012}"

    monkeypatch.setattr(org, "scan_account", fake_scan)
    received = 0
    for _ in org.scan_organization(None, accounts(), "r", ["us-east-1"], max_workers=4):
        received += 1
        assert len(pulled) - received <= 2 * 4  # never more than 2 x max_workers submitted and not yet yielded
    assert received == 200 and peak[0] <= 4


def test_a_crashing_account_does_not_stop_the_others(monkeypatch):
    def fake_scan(session, account_id, role_name, regions, services):
        if account_id == "000000000002":
            raise RuntimeError("bug")
        return org.ScanResult(account_id, None, None, "success")

    monkeypatch.setattr(org, "scan_account", fake_scan)
    results = {r.account_id: r for r in org.scan_organization(None, ["000000000001", "000000000002"], "r", None)}
    assert results["000000000001"].status == "success"
    assert results["000000000002"].status == "failed"
    assert results["000000000002"].errors[0]["error_code"] == "RuntimeError"


def test_account_tags_come_from_organizations(aws):
    o = aws.client("organizations")
    o.create_organization(FeatureSet="ALL")
    tagged = o.create_account(AccountName="payments-prod", Email="p@example.com", Tags=[
        {"Key": "environment", "Value": "production"}, {"Key": "criticality", "Value": "high"}],
    )["CreateAccountStatus"]["AccountId"]
    seen: list[str] = []
    record_operations(aws, seen)

    accounts = {a["Id"]: a for a in org.list_accounts(aws, with_tags=True)}

    assert accounts[tagged]["Tags"] == [{"Key": "environment", "Value": "production"},
                                        {"Key": "criticality", "Value": "high"}]
    assert accounts[MANAGEMENT]["Tags"] == []
    json.dumps(accounts[tagged])  # JoinedTimestamp as an ISO string: stored verbatim as JSON
    assert set(seen) == {"organizations:ListAccounts", "organizations:ListTagsForResource"}
    assert set(seen) <= set(policy.SCANNER_ACTIONS)
    assert "Tags" not in org.list_accounts(aws)[0]
