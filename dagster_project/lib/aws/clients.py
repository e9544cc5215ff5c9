"""boto3 clients for collection: adaptive retries, timeouts, and a guard that refuses any write.

Collectors only read. The guard is enforced in botocore itself (an event handler that runs before every
request is signed and sent), so a bug in a collector can never change a customer's account.
"""

import base64
import datetime as dt
import decimal
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from botocore.config import Config

READ_PREFIXES = ("List", "Describe", "Get")

# Throttling is normal at organization scale: adaptive mode adds client-side rate limiting on top of
# exponential backoff, and 10 attempts ride out bursts. Timeouts keep one dead endpoint from stalling a scan.
CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=10, read_timeout=60,
                user_agent_extra="dcv-collector")


# boto3 Sessions are not thread-safe while creating clients (clients themselves are). In single-account mode
# several scan threads share one session, so client creation is serialized; it is CPU work under the GIL anyway.
_CREATE_LOCK = threading.Lock()


class WriteRefused(RuntimeError):
    """A collector tried to call an operation that is not a List/Describe/Get read."""


def is_read(operation_name: str) -> bool:
    return operation_name.startswith(READ_PREFIXES)


def _read_only_guard(allowed: frozenset[str]):
    def guard(model, **_):
        if not (is_read(model.name) or model.name in allowed):
            raise WriteRefused(f"refused {model.service_model.service_name}:{model.name}: "
                               "collectors may only call List*/Describe*/Get* operations")

    return guard


def client(session: boto3.Session, service_name: str, region: str | None, allow: Iterable[str] = ()):
    """A client for one service and region that can only read (plus operations named in `allow`)."""
    with _CREATE_LOCK:
        c = session.client(service_name, region_name=region, config=CONFIG)
    # before-call fires after parameter validation and before signing/sending: nothing leaves the process.
    c.meta.events.register("before-call.*.*", _read_only_guard(frozenset(allow)),
                           unique_id="dcv-read-only-guard")
    return c


def json_safe(value: Any) -> Any:
    """API objects as JSON: datetimes -> ISO-8601, bytes -> base64, Decimal -> int/float, sets -> lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "read"):  # StreamingBody: never expected from these reads, never worth keeping
        return None
    return value


def paginate(c, operation: str, result_key: str, **kwargs) -> Iterator[Any]:
    """Every item of `result_key` across all pages (real AWS paginates where moto often does not)."""
    for page in c.get_paginator(operation).paginate(**kwargs):
        yield from page.get(result_key) or []


def token_loop(call, result_key: str, next_key: str = "nextToken", **kwargs) -> Iterator[Any]:
    """Manual pagination for operations botocore has no paginator for."""
    token = None
    while True:
        page = call(**kwargs, **({next_key: token} if token else {}))
        yield from page.get(result_key) or []
        token = page.get(next_key)
        if not token:
            return


# A resource deleted between the listing and the tag read: it has no tags to report, and the next scan will not
# list it. Any other error (AccessDenied when the role lacks ListTagsForResource, throttling after every retry)
# fails the scope like any other call, so missing permissions are reported on the scan, never silently dropped.
_GONE = ("ResourceNotFoundException", "ResourceNotFound", "NoSuchEntity")


def tags(c, operation: str, **params) -> list[dict]:
    """A resource's tags as ListTagsForResource returns them ([{Key, Value}]), followed across pages where the
    operation has a paginator (AWS Config's does)."""
    from botocore.exceptions import ClientError

    try:
        if c.can_paginate(operation):
            return list(paginate(c, operation, "Tags", **params))
        return getattr(c, operation)(**params).get("Tags") or []
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return []
        raise


def with_tags(api_object: dict, found: list[dict]) -> dict:
    """The API object with its resource tags under "Tags" (only when it has some: an untagged resource's
    record stays exactly what the service's own listing returns). Tags are metadata, kept out of the
    configuration hash (lib/detections/volatile_fields.yaml)."""
    return {**api_object, "Tags": found} if found else api_object


def record(service: str, detection_type: str, native_id: str, name: str | None, region: str, api_object: dict,
           related: dict | None = None) -> dict:
    """The one record shape the storage layer accepts (account_id is added by the caller)."""
    return {"provider": "aws", "service": service, "detection_type": detection_type, "native_id": native_id,
            "name": name, "region": region, "api_object": json_safe(api_object),
            "related": json_safe(related or {})}
