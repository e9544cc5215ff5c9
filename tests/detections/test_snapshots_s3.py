"""Scan snapshots in S3 (DCV_SNAPSHOT_URI=s3://bucket/prefix), against moto's server over real HTTP."""

import base64
import gzip
import hashlib
import json
import shutil
from datetime import date

import boto3
import dagster as dg
import pytest

from dagster_project.lib import sample_org, settings
from dagster_project.lib.detections.snapshots import SnapshotError, SnapshotWriter, read_snapshot

DAY = date(2026, 11, 20)


def _client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def test_writer_puts_the_gzip_object_whose_sha256_it_returns(moto_reset):
    s3 = _client(moto_reset)
    s3.create_bucket(Bucket="dcv-unit")
    payload = json.dumps({"records": [{"native_id": "trail:a"}]}).encode()
    stored = SnapshotWriter(s3_client=s3, bucket="dcv-unit", prefix="/scans/").write("export", DAY, "111111111111",
                                                                                      payload)
    key = "scans/export/2026-11-20/111111111111.json.gz"
    assert stored.location == f"s3://dcv-unit/{key}"
    obj = s3.get_object(Bucket="dcv-unit", Key=key, ChecksumMode="ENABLED")
    body = obj["Body"].read()
    assert hashlib.sha256(body).hexdigest() == stored.sha256 and len(body) == stored.compressed_bytes
    # S3 verified the upload against the same digest and keeps it with the object
    assert base64.b64decode(obj["ChecksumSHA256"]).hex() == stored.sha256
    assert gzip.decompress(body) == payload and stored.uncompressed_bytes == len(payload)
    assert read_snapshot(stored.location, stored.sha256, s3_client=s3) == payload
    with pytest.raises(SnapshotError, match="does not match its recorded sha256"):
        read_snapshot(stored.location, "0" * 64, s3_client=s3)


def test_a_missing_bucket_fails_with_the_location_and_the_error_code(moto_reset):
    writer = SnapshotWriter(s3_client=_client(moto_reset), bucket="dcv-absent", prefix="p")
    with pytest.raises(SnapshotError, match=r"s3://dcv-absent/p/export/2026-11-20/1\.json\.gz failed: NoSuchBucket"):
        writer.write("export", DAY, "1", b"{}")


def test_reader_reads_local_snapshots_too(tmp_path):
    stored = SnapshotWriter(tmp_path).write("export", DAY, "111111111111", b'{"records": []}')
    assert read_snapshot(stored.location, stored.sha256) == b'{"records": []}'


@pytest.mark.parametrize("value", ["/var/snapshots", "s3:/bucket/p", "s3://", "s3://Bad_Bucket/p",
                                   "file:///tmp/x", "s3://bucket/a//b", "https://bucket.s3.amazonaws.com/p"])
def test_a_bad_snapshot_uri_is_one_line_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("DCV_SNAPSHOT_URI", value)
    with pytest.raises(ValueError) as error:
        _ = settings.load().snapshot_uri
    message = str(error.value)
    assert message.startswith(f"DCV_SNAPSHOT_URI={value!r}") and "s3://bucket/prefix" in message
    assert "\n" not in message


@pytest.mark.parametrize(("value", "expected"), [("", None), ("s3://dcv-bucket", "s3://dcv-bucket"),
                                                 ("s3://dcv.bucket/a/b/", "s3://dcv.bucket/a/b")])
def test_snapshot_uri_unset_or_s3(monkeypatch, value, expected):
    monkeypatch.setenv("DCV_SNAPSHOT_URI", value)
    assert settings.load().snapshot_uri == expected


def _materialize(instance, day):
    from dagster_project.definitions import defs

    result = dg.materialize([defs.get_assets_def(dg.AssetKey(["raw", "scans"]))], partition_key=day.isoformat(),
                            instance=instance, resources=defs.resources)
    assert result.success
    [scans] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey(["raw", "scans"])]
    return scans.materialization.metadata["accounts"].value


def test_the_detections_asset_writes_each_snapshot_to_s3_and_a_past_day_rederives_from_them(
        moto_reset, dbt_manifest, warehouse_url, db, dagster_instance, tmp_path, monkeypatch):
    """The daily load with DCV_SNAPSHOT_URI set: each scan's snapshot is an object under the prefix, written
    through the `s3` resource, and raw.scans (and so marts.snapshot_storage) records its s3:// location and the
    sha256 of the stored bytes. With the export gone, the same day loads again from those objects (spec §H)."""
    s3 = _client(moto_reset)
    s3.create_bucket(Bucket="dcv-snapshots")
    for name in ("DCV_RULE_REPOS", "DCV_AWS_ROLE_NAME", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DCV_HOME", str(tmp_path))
    monkeypatch.setenv("DCV_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("DCV_EXPORT_WORKERS", "1")
    monkeypatch.setenv("DCV_SNAPSHOT_URI", "s3://dcv-snapshots/org/daily")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_reset)  # boto3's own variable: S3Resource is not configured
    # a past day reads its own dated folder (docs/export-layout.md, "Days")
    counts = sample_org.write_export(tmp_path / "exports" / DAY.isoformat(), accounts=2, detections_per_account=10,
                                     seed=5, day=DAY)
    db.execute("truncate raw.detection_presence, raw.declared_mappings, raw.detection_contents, raw.scans cascade")
    assert _materialize(dagster_instance, DAY) == 2

    scans = "select account_id, detections_seen from raw.scans where partition_date = %s order by account_id"
    loaded, presence = db.execute(scans, (DAY,)).fetchall(), _presence(db)
    rows = db.execute("select account_id, snapshot_location, snapshot_sha256, compressed_bytes, uncompressed_bytes "
                      "from raw.scans where partition_date = %s order by account_id", (DAY,)).fetchall()
    assert len(rows) == counts["accounts"] == 2 and sum(n for _, n in loaded) == counts["detections"]
    listed = s3.list_objects_v2(Bucket="dcv-snapshots", Prefix=f"org/daily/export/{DAY}/")["Contents"]
    assert sorted(o["Key"] for o in listed) == [f"org/daily/export/{DAY}/{row[0]}.json.gz" for row in rows]
    for account_id, location, sha, compressed, uncompressed in rows:
        assert location == f"s3://dcv-snapshots/org/daily/export/{DAY}/{account_id}.json.gz"
        body = s3.get_object(Bucket="dcv-snapshots", Key=location.removeprefix("s3://dcv-snapshots/"))["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha and len(body) == compressed
        payload = read_snapshot(location, sha, s3_client=s3)
        assert len(payload) == uncompressed
        snapshot = json.loads(payload)
        assert snapshot["account_id"] == account_id and snapshot["records"]
    assert not (tmp_path / "snapshots").exists()  # nothing went to the local directory

    # the export is gone: the day is re-derived from its S3 snapshots, with the same result
    shutil.rmtree(tmp_path / "exports")
    assert _materialize(dagster_instance, DAY) == 2  # both accounts read back from S3
    assert db.execute(scans, (DAY,)).fetchall() == loaded and _presence(db) == presence
    again = db.execute("select snapshot_location, snapshot_sha256 from raw.scans where partition_date = %s "
                       "order by account_id", (DAY,)).fetchall()
    assert [location for location, _ in again] == [row[1] for row in rows]
    for location, sha in again:
        read_snapshot(location, sha, s3_client=s3)  # the rewritten objects match what raw.scans records


def _presence(db):
    return db.execute("select source, account_id, native_id, content_hash, valid_from, valid_to "
                      "from raw.detection_presence order by 1, 2, 3, 5").fetchall()
