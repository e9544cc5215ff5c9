"""The whole scan of one account for one day, as gzip JSON: any day can be re-derived from these files.

Local directory by default; an S3 bucket when a boto3 S3 client is given (dagster-aws S3Resource,
DCV_SNAPSHOT_URI=s3://bucket/prefix). read_snapshot reads either kind of location back.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class StoredSnapshot:
    location: str
    sha256: str
    compressed_bytes: int
    uncompressed_bytes: int


class SnapshotError(RuntimeError):
    """A snapshot could not be written or read back as recorded."""


class SnapshotWriter:
    def __init__(self, root: Path | None = None, s3_client=None, bucket: str | None = None, prefix: str = ""):
        if root is None and not (s3_client and bucket):
            raise ValueError("a snapshot store needs a directory or an S3 client and bucket")
        self.root, self.s3, self.bucket, self.prefix = root, s3_client, bucket, prefix.strip("/")

    def write(self, source: str, day: date, account_id: str, payload: bytes) -> StoredSnapshot:
        compressed = gzip.compress(payload, compresslevel=3)  # level 3: ~4x faster than 9, ~10% larger
        digest = hashlib.sha256(compressed)
        name = f"{source}/{day.isoformat()}/{account_id or 'repository'}.json.gz"
        if self.s3 is not None:
            key = f"{self.prefix}/{name}" if self.prefix else name
            location = f"s3://{self.bucket}/{key}"
            try:
                # S3 checks the body against the same sha256 we record and keeps it with the object
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=compressed, ContentType="application/json",
                                   ContentEncoding="gzip", ChecksumAlgorithm="SHA256",
                                   ChecksumSHA256=base64.b64encode(digest.digest()).decode())
            except Exception as exc:  # botocore ClientError / connection errors: say where, not with what
                raise SnapshotError(f"writing snapshot {location} failed: {_reason(exc)} (check DCV_SNAPSHOT_URI "
                                    "and that the credentials allow s3:PutObject there)") from exc
        else:
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(compressed)
            tmp.replace(path)  # atomic: a reader never sees half a file
            location = str(path)
        return StoredSnapshot(location, digest.hexdigest(), len(compressed), len(payload))


def read_snapshot(location: str, sha256: str | None = None, s3_client=None) -> bytes:
    """The payload (uncompressed JSON) of a stored snapshot: a file path or an s3://bucket/key location as
    raw.scans.snapshot_location records it. With `sha256` (raw.scans.snapshot_sha256) the compressed bytes
    must match it. An s3:// location uses `s3_client`, or a boto3 client from the environment."""
    if location.startswith("s3://"):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        try:
            compressed = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise SnapshotError(f"reading snapshot {location} failed: {_reason(exc)}") from exc
    else:
        compressed = Path(location).read_bytes()
    if sha256 is not None and hashlib.sha256(compressed).hexdigest() != sha256:
        raise SnapshotError(f"snapshot {location} does not match its recorded sha256 {sha256}")
    return gzip.decompress(compressed)


def _reason(exc: Exception) -> str:
    """The error code (or exception type) only: a botocore message can echo request details."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code or type(exc).__name__

