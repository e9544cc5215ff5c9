"""Organization fan-out: every account x region x service, failures recorded per scope, never fatal.

STS AssumeRole is the only non-read call the project makes, and only here: it is how a management-account
identity obtains the read-only role in each member account. It changes nothing in the member account (it
issues temporary credentials and a CloudTrail event), so the read-only guard allows it for this client alone.
"""

import itertools
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import botocore.session
from botocore.exceptions import ClientError

from dagster_project.lib.aws import SERVICES
from dagster_project.lib.aws.clients import client, json_safe, paginate, tags

SESSION_NAME = "dcv-scan"
SESSION_SECONDS = 3600  # one account's scan takes seconds to minutes; an hour is the default role maximum
_XML_CODE = re.compile(r"<Code>(\w+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")


@dataclass
class ScanResult:
    account_id: str
    started_at: datetime
    completed_at: datetime | None
    status: str  # success | partial | failed
    records: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    services_scanned: int = 0


def _home_region(session: boto3.Session) -> str:
    return session.region_name or "us-east-1"


def list_accounts(session: boto3.Session, with_tags: bool = False) -> list[dict]:
    """Every account of the organization (the caller keeps the ACTIVE ones), as ListAccounts returns it.
    with_tags: each account also gets "Tags", as organizations:ListTagsForResource returns them (a call each)."""
    org = client(session, "organizations", _home_region(session))
    accounts = list(paginate(org, "list_accounts", "Accounts"))
    if with_tags:
        for account in accounts:
            account["Tags"] = tags(org, "list_tags_for_resource", ResourceId=account["Id"])
    return [json_safe(a) for a in accounts]  # JSON as stored in raw.org_accounts (JoinedTimestamp: ISO-8601)


def regions(session: boto3.Session) -> list[str]:
    """The regions enabled for the session's account (opt-in regions only when opted in)."""
    ec2 = client(session, "ec2", _home_region(session))
    return sorted(r["RegionName"] for r in ec2.describe_regions()["Regions"])


def assume(session: boto3.Session, account_id: str, role_name: str) -> boto3.Session:
    """A session holding temporary credentials of `role_name` in `account_id`."""
    region = _home_region(session)
    partition = session.get_partition_for_region(region)
    sts = client(session, "sts", region, allow=("AssumeRole",))
    creds = sts.assume_role(RoleArn=f"arn:{partition}:iam::{account_id}:role/{role_name}",
                            RoleSessionName=SESSION_NAME, DurationSeconds=SESSION_SECONDS)["Credentials"]
    # Share the parent's service-model loader: a fresh botocore session re-reads every service's JSON model,
    # which made client creation the largest CPU cost of a scan (measured ~4x slower per account).
    core = botocore.session.Session()
    core.register_component("data_loader", session._session.get_component("data_loader"))
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=region, botocore_session=core)


def _secrets(session: boto3.Session | None) -> list[str]:
    creds = session.get_credentials() if session else None
    if creds is None:
        return []
    frozen = creds.get_frozen_credentials()
    return [s for s in (frozen.access_key, frozen.secret_key, frozen.token) if s]


def scrub(message: str, secrets: Iterable[str] = ()) -> str:
    """Error text safe to store and log: no credential values, no access key ids."""
    for secret in secrets:
        message = message.replace(secret, "***")
    return _KEY_ID.sub("***", message)


def _describe(exc: BaseException) -> tuple[str, str]:
    """(error code, text). Not an API error: the exception's class is the code (EndpointConnectionError,
    ReadTimeoutError, ...). An API error whose body botocore could not parse has the bare HTTP status as its
    code (an endpoint answering a JSON-protocol call with an XML error, as moto does): read <Code> from it."""
    if not isinstance(exc, ClientError):
        return type(exc).__name__, str(exc)
    err = exc.response.get("Error", {})
    code = str(err.get("Code") or "ClientError")
    body = err.get("Message") or ""
    if code.isdigit() and (found := _XML_CODE.search(body)):
        message = _XML_MESSAGE.search(body)
        return found.group(1), f"{exc.operation_name}: {message.group(1) if message else found.group(1)}"
    return code, str(exc)


def error(account_id: str, region: str | None, service: str | None, exc: BaseException,
          secrets: Iterable[str] = ()) -> dict:
    """One failed scope as stored in raw.scans.errors; the message names the account and scope."""
    code, text = _describe(exc)
    scope = "/".join(s for s in (region, service) if s)
    text = f"account {account_id}{' ' + scope if scope else ''}: {text}"
    return {"region": region, "service": service, "error_code": code, "message": scrub(text, secrets)[:2000]}


def status(scopes: int, failed_scopes: int, setup_failed: bool = False) -> str:
    """success: nothing failed; failed: nothing could be scanned; partial: anything in between."""
    if setup_failed or scopes == 0 or failed_scopes >= scopes:
        return "failed"
    return "partial" if failed_scopes else "success"


# A scope's failure is an API error (AccessDenied, throttling after all retries: ClientError), a transport
# error (EndpointConnectionError, ReadTimeoutError: BotoCoreError) or a collector bug. All are caught per
# scope (Exception) so one never stops the rest, and each becomes an error entry, so none is silent.
_SCOPE_ERRORS = Exception


def _setup_failed(result: ScanResult, entry: dict) -> ScanResult:
    result.errors.append(entry)
    result.completed_at = datetime.now(UTC)
    return result


def scan_account(session: boto3.Session, account_id: str, role_name: str | None, regions_: list[str] | None,
                 services: dict | None = None) -> ScanResult:
    """Every (region, service) of one account; errors are collected, never raised."""
    services = services or SERVICES
    result = ScanResult(account_id, datetime.now(UTC), None, "failed")
    secrets = _secrets(session)
    try:
        target = assume(session, account_id, role_name) if role_name else session
    except _SCOPE_ERRORS as exc:  # no credentials for the account: nothing in it can be scanned
        return _setup_failed(result, error(account_id, None, None, exc, secrets))
    secrets += _secrets(target)
    try:
        scan_regions = regions_ or regions(target)
    except _SCOPE_ERRORS as exc:
        return _setup_failed(result, error(account_id, None, None, exc, secrets))
    scanned, failed = set(), 0
    for region, (name, collect) in itertools.product(scan_regions, services.items()):
        try:
            # Materialize per scope: a failure halfway through a region/service drops that scope only.
            records = list(collect(target, region))
        except _SCOPE_ERRORS as exc:
            failed += 1
            result.errors.append(error(account_id, region, name, exc, secrets))
            continue
        result.records.extend(records)
        scanned.add(name)
    result.services_scanned = len(scanned)
    result.status = status(len(scan_regions) * len(services), failed)
    result.completed_at = datetime.now(UTC)
    return result


def _account_id(account) -> str:
    return account["Id"] if isinstance(account, dict) else str(account)


def scan_organization(session: boto3.Session, accounts: Iterable, role_name: str | None,
                      regions: list[str] | None = None, max_workers: int = 8,
                      services: dict | None = None) -> Iterator[ScanResult]:
    """Scan accounts on a bounded thread pool, yielding each result as it completes.

    At most 2 x max_workers accounts are submitted at a time, so a 1,000-account organization never holds
    every account's records in memory: the caller stores each result before more are scanned.
    """
    ids = (_account_id(a) for a in accounts)
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dcv-scan")
    pending: dict[Future, str] = {}

    def submit(n: int) -> None:
        for account_id in itertools.islice(ids, n):
            pending[pool.submit(scan_account, session, account_id, role_name, regions, services)] = account_id

    try:
        submit(2 * max_workers)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                account_id = pending.pop(future)
                yield _result(future, account_id)
            submit(len(done))
    finally:
        # A caller that stops iterating (or fails while storing) must not wait for queued accounts.
        pool.shutdown(wait=True, cancel_futures=True)


def _result(future: Future, account_id: str) -> ScanResult:
    try:
        return future.result()
    except Exception as exc:  # scan_account catches everything; this is the last line of defence
        now = datetime.now(UTC)
        return ScanResult(account_id, now, now, "failed", errors=[error(account_id, None, None, exc)])
