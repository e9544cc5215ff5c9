"""The whole scan of one account for one day, as gzip JSON: any day can be re-derived from these files.

Local directory by default; an S3 bucket when a boto3 S3 client is given (dagster-aws S3Resource,
DCV_SNAPSHOT_URI=s3://bucket/prefix). read_snapshot reads either kind of location back.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
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
        # level 3: ~4x faster than 9, ~10% larger; mtime 0: a re-run of a scan gives the same bytes and sha256
        compressed = gzip.compress(payload, compresslevel=3, mtime=0)
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


ORGANIZATION_SOURCE = "organizations"  # the accounts listing of a day: organizations/<day>/list-accounts.json.gz
ORGANIZATION_NAME = "list-accounts"


class SnapshotReader:
    """Re-derive a day from the snapshots a load wrote: what each account's scan held, with the scopes it carried
    unread (`carried`: scope -> the day it was read) taken from the snapshot of the day that read them.
    `location` is the snapshot directory or DCV_SNAPSHOT_URI's s3://bucket/prefix (boto3's own credentials)."""

    def __init__(self, location: Path | str):
        from dagster_project.lib.sources.exports import tree_for

        self.location = str(location)
        self.tree = tree_for(self.location)

    @staticmethod
    def _name(source: str, day: date | str, account_id: str) -> str:
        day = day if isinstance(day, str) else day.isoformat()
        return f"{source}/{day}/{account_id or 'repository'}.json.gz"

    def accounts(self, source: str, day: date) -> list[str]:
        """The accounts with a snapshot of `source` on `day`, in id order ('' for a repository's)."""
        _, files = self.tree.list_dir(f"{source}/{day.isoformat()}")
        names = sorted(name.removesuffix(".json.gz") for name in files if name.endswith(".json.gz"))
        return ["" if name == "repository" else name for name in names]

    def has_day(self, source: str, day: date) -> bool:
        return bool(self.accounts(source, day))

    def ref(self, source: str, day: date, account_id: str) -> str:
        return self.tree.ref(self._name(source, day, account_id))

    def payload(self, source: str, day: date | str, account_id: str) -> bytes:
        """The snapshot's JSON; FileNotFoundError naming it when there is none."""
        name = self._name(source, day, account_id)
        try:
            return gzip.decompress(self.tree.read(name))
        except FileNotFoundError:
            raise
        except Exception as exc:  # S3: NoSuchKey and the like
            if "NoSuchKey" in _reason(exc) or "404" in _reason(exc):
                raise FileNotFoundError(self.tree.ref(name)) from exc
            raise SnapshotError(f"reading snapshot {self.tree.ref(name)} failed: {_reason(exc)}") from exc

    def load(self, source: str, day: date | str, account_id: str) -> dict:
        return json.loads(self.payload(source, day, account_id))

    def records(self, source: str, day: date, account_id: str) -> list[dict]:
        """Every record the account's scan had on `day`: those read that day and those of the scopes it carried.
        A carried scope whose snapshot is gone raises FileNotFoundError naming it."""
        snapshot = self.load(source, day, account_id)
        records = list(snapshot["records"])
        by_day: dict[str, set[str]] = {}
        for scope, read_on in (snapshot.get("carried") or {}).items():
            by_day.setdefault(read_on, set()).add(scope)
        for read_on, scopes in sorted(by_day.items()):
            try:
                earlier = self.load(source, read_on, account_id)["records"]
            except FileNotFoundError:
                raise FileNotFoundError(f"snapshot {self.tree.ref(self._name(source, read_on, account_id))} (which "
                                        f"holds {', '.join(sorted(scopes))} for {day}) is missing") from None
            records += [r for r in earlier if f"{r.get('region') or ''}/{r.get('service')}" in scopes]
        return records
