"""Write one day of scans into raw, with growth proportional to what changed.

- raw.detection_contents: each distinct configuration (and runtime state) once, keyed by its hash.
- raw.detection_presence: intervals [valid_from, valid_to) of scan days on which a detection was seen with a
  given content + state. A day's load only touches intervals whose detection differs from that day's scan,
  so an unchanged estate adds nothing. The same day loaded again changes nothing; an older day loaded later
  (a backfill) splits or merges intervals around it.
- raw.detection_changes: the key of every detection whose intervals the load touched (a change log for the
  models derived per detection).
- raw.scans: one row per account per day with status, errors, the snapshot file and the digest of each scope
  (one service's export files in one region). A scope whose files equal the previous scan's is not read and
  takes no part in the diff: its intervals simply run on, so a day's work follows what changed.
- Within the scopes that are read, a scan staged against its account's previous versions (stage(previous=...),
  done in the export reader processes) sends PostgreSQL only the detections that are new or differ, and the
  keys of those that are gone; a scan staged without them sends everything and PostgreSQL finds the difference.
  Both give the same intervals (tests/detections/test_store.py).

Everything for the day commits in one transaction: a crash leaves the previous state visible.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

import psycopg

from dagster_project.lib.detections import record as rec
from dagster_project.lib.detections.snapshots import SnapshotWriter
from dagster_project.lib.warehouse.loader import copy_rows
from dagster_project.lib.warehouse.storable import JSON_NUL, nul_path, nul_reason

SCAN_NAMESPACE = uuid.UUID("6f1c2b1e-4d0a-4b53-9a55-0c1d7e1f2a10")
KEY = ("source", "account_id", "region", "service", "native_id")


def scope_key(region: str, service: str) -> str:
    """How AccountScan.scope_digests is keyed (the export reader's Scope.key)."""
    return f"{region}/{service}"


def scan_id(source: str, account_id: str, day: date) -> uuid.UUID:
    return uuid.uuid5(SCAN_NAMESPACE, f"{source}|{account_id}|{day.isoformat()}")


@dataclass
class AccountScan:
    source: str
    account_id: str  # '' for repository rules
    started_at: datetime
    records: Iterable[dict]  # consumed once
    status: str = "completed"
    completed_at: datetime | None = None
    errors: list[dict] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    services_scanned: int = 0
    failed_scopes: set[tuple[str, str]] = field(default_factory=set)  # (region, service) not scanned
    # (region, service) whose export files equal the previous scan's: not read, their detections stay as they were
    unchanged_scopes: set[tuple[str, str]] = field(default_factory=set)
    scope_digests: dict[str, dict] = field(default_factory=dict)  # scope_key -> {digest, read_on, detections}
    staged: Staged | None = None  # the records already through stage() (by a reader process); records unused


class StagedRow(NamedTuple):
    """A record as the staging table takes it after (source, account_id), documents as canonical JSON."""

    region: str
    service: str
    detection_type: str
    native_id: str
    name: str | None
    content_hash: str
    state_hash: str | None
    record_digest: bytes
    provider: str
    config_json: str
    state_json: str | None


@dataclass
class Staged:
    """One scan's records as the store writes them: checked, split and hashed (stage()). Plain tuples and
    strings, so a reader process can hand them over cheaply."""

    rows: list[StagedRow] = field(default_factory=list)
    seen: int = 0  # records read and kept, whether staged or (diffed and unchanged) not
    # diffed (staged against previous versions): rows holds only new or changed detections, and probe the
    # (region, service, native_id) whose version at the day must be looked up: the changed ones and the gone
    diffed: bool = False
    probe: list[tuple[str, str, str]] = field(default_factory=list)
    # diffed: records recognised by their digest (not split), and (region, service, native_id, digest) of those
    # split, found unchanged and stored with another digest (or none: rows written before digests), to note
    recognised: int = 0
    redigest: list[tuple[str, str, str, bytes]] = field(default_factory=list)
    rejects: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (region, service) of rejected records: not scanned, like the scan's own failed_scopes
    failed_scopes: set[tuple[str, str]] = field(default_factory=set)
    per_scope: Counter = field(default_factory=Counter)  # scope_key -> records (only for scans with digests)
    declared: list[tuple[str, str, str]] = field(default_factory=list)  # content_hash, technique, tag
    records_json: bytes | None = None  # the stored records as read (plain_json), for the snapshot


Versions = Mapping[tuple[str, str, str], tuple[str, str | None, bytes | None]]


def stage(scan: AccountScan, *, keep_json: bool = False,
          declared_tags: Callable[[dict], list[tuple[str, str]]] | None = None,
          previous: Versions | None = None) -> Staged:
    """Check, split and hash a scan's records (most of a load's Python time; pure, so it can run in a reader
    process). keep_json also returns the stored records' JSON for the day's snapshot.

    previous: the account's versions at the day (previous_versions), (region, service, native_id) ->
    (content_hash, state_hash, record_digest). Given it, only what differs is staged: on a daily load ~1 % of
    what is read; a record whose digest equals its version's is known unchanged without being split."""
    staged, kept, seen_keys = Staged(diffed=previous is not None), [], set()
    records = list(scan.records)
    # one detection per key: copies sharing a key are all rejected (which one is real is unknown), never merged
    counts = Counter(_key(r) for r in records if _problem(r) is None)
    for record in records:
        why, text = _problem(record), None
        if why is None and counts[_key(record)] > 1:
            why = f"{counts[_key(record)]} records share this id in one scan: none is loaded"
        if why is None:
            text = rec.plain_json(record)
            if JSON_NUL in text and nul_path(record):
                why = nul_reason(nul_path(record))
        if why:
            native = record.get("native_id") if isinstance(record, dict) else None
            where = (record.get("related") or {}).get("path") if isinstance(record, dict) else None
            staged.rejects.append((f"{scan.source}:{scan.account_id}:{native}" + (f" ({where})" if where else ""),
                                   why, rec.canonical_json(record)[:2000]))
            if isinstance(record, dict) and isinstance(record.get("service"), str):
                staged.failed_scopes.add((record.get("region") or "", record["service"]))
            continue
        region = record.get("region") or ""
        staged.seen += 1
        key = (region, record["service"], record["native_id"])
        before = None if previous is None else previous.get(key)
        digest = rec.record_digest(text)
        if before is not None and before[2] == digest and declared_tags is None:
            staged.recognised += 1
        else:
            parts = rec.split(record)
            if before is None or before[:2] != (parts.config_hash, parts.state_hash):
                staged.rows.append(StagedRow(*key[:2], record["detection_type"], key[2], record.get("name"),
                                             parts.config_hash, parts.state_hash, digest, record["provider"],
                                             parts.config_json, parts.state_json))
                if before is not None:
                    staged.probe.append(key)
            elif before[2] != digest:
                staged.redigest.append((*key, digest))
            if declared_tags is not None:
                staged.declared += [(parts.config_hash, t, tag) for t, tag in declared_tags(record)]
        if previous is not None:
            seen_keys.add(key)
        if keep_json:
            kept.append(text)
        if scan.scope_digests:
            staged.per_scope[scope_key(region, record["service"])] += 1
    if previous is not None:
        # gone: known before, in a scope that was read (not skipped as unchanged, not failed), and not seen now
        not_read = scan.unchanged_scopes | scan.failed_scopes | staged.failed_scopes
        staged.probe += [key for key in previous if key not in seen_keys and key[:2] not in not_read]
    if keep_json:
        staged.records_json = b"[%s]" % b",".join(kept)
    return staged


def _problem(record) -> str | None:
    why = rec.problem(record)
    if why is None and not all(isinstance(record.get(k) or "", str) for k in ("native_id", "region", "service")):
        why = "native_id, region and service must be strings"
    return why


def _key(record: dict) -> tuple:
    return record.get("region") or "", record["service"], record["native_id"]


PREVIOUS_VERSIONS = """select region, service, native_id, content_hash, state_hash, record_digest
from raw.detection_presence
where source = %s and account_id = %s and valid_from <= %s and (valid_to is null or valid_to > %s)"""


def previous_versions(conn: psycopg.Connection, source: str, day: date) -> Callable[[str], dict]:
    """account -> its versions at `day` (stage's `previous`), one indexed query per account, so a load streams
    accounts rather than holding the organization. `conn` must not be the loading connection (it is busy with
    the day's COPY while accounts are read); it sees what is committed, the state the load starts from."""
    def versions(account_id: str) -> dict:
        rows = conn.execute(PREVIOUS_VERSIONS, (source, account_id, day, day)).fetchall()
        return {(region, service, native_id): (content, state, digest)
                for region, service, native_id, content, state, digest in rows}
    return versions


def snapshot_json(source: str, account_id: str, day: date, records_json: bytes, carried: dict) -> bytes:
    """The day's snapshot payload {account_id, carried, day, records, source} as JSON, its records spliced in
    as the reader wrote them (stage: each record once, as read, for its digest and here)."""
    head = rec.canonical_json({"account_id": account_id, "carried": carried, "day": day})
    return b'%s,"records":%s,"source":%s}' % (head[:-1].encode(), records_json, rec.canonical_json(source).encode())


@dataclass
class StoreStats:
    accounts: int = 0
    detections: int = 0
    new_contents: int = 0
    intervals_opened: int = 0
    intervals_closed: int = 0
    scopes_unchanged: int = 0  # (account, region, service) scopes skipped: files identical to the previous scan's
    rejects: list[tuple[str, str, str | None]] = field(default_factory=list)


# One COPY stream per day (a connection runs one COPY at a time): membership rows, each carrying the
# configuration/state document the first time its hash is seen in this load. Documents are staged as text and
# only those not stored yet are parsed into jsonb: on a daily load almost all are known already.
_TEMP = """
create temp table staged (
    source text, account_id text, region text, service text, detection_type text, native_id text,
    name text, content_hash text, state_hash text, record_digest bytea, provider text, config_doc text,
    state_doc text
) on commit drop;
create temp table scope (source text, account_id text, status text, diffed boolean) on commit drop;
create temp table probe (source text, account_id text, region text, service text, native_id text) on commit drop;
create temp table failed_scopes (source text, account_id text, region text, service text) on commit drop;
create temp table unchanged_scopes (source text, account_id text, region text, service text) on commit drop;
create temp table declared (content_hash text, technique_id text, source_tag text) on commit drop;
create temp table redigest (source text, account_id text, region text, service text, native_id text,
    record_digest bytea) on commit drop;
"""

_COLS = ("source, account_id, region, service, detection_type, native_id, name, content_hash, state_hash, "
         "record_digest")
_SAME_KEY = " and ".join(f"{{a}}.{k} = {{b}}.{k}" for k in KEY)
_SAME_VERSION = _SAME_KEY + " and {a}.content_hash = {b}.content_hash and {a}.state_hash is not distinct from {b}.state_hash"


def _same(a: str, b: str, version: bool = True) -> str:
    return (_SAME_VERSION if version else _SAME_KEY).format(a=a, b=b)


_NEW_CONTENTS = """
insert into raw.detection_contents (content_hash, kind, provider, service, detection_type, document, first_seen)
select s.{hash}, %(kind)s, s.provider, s.service, s.detection_type, s.{doc}::jsonb, %(day)s
from staged as s
where s.{doc} is not null and not exists (select from raw.detection_contents as c where c.content_hash = s.{hash})
on conflict (content_hash) do nothing
"""

_DIFF = f"""
create temp table incoming on commit drop as select {_COLS} from staged;

insert into raw.declared_mappings select distinct * from declared on conflict do nothing;

-- a scan that failed says nothing about presence; failed (region, service) scopes carry their detections
delete from scope where status = 'failed';

-- the versions the day's scans are compared with. Unchanged scopes take no part: their intervals run on
-- untouched. A diffed scan names the few detections to compare (probe: changed or gone), each looked up through
-- the key's index (lateral, fenced by offset 0); any other scan is compared in full.
create temp table at_day on commit drop as
select p.* from raw.detection_presence as p
inner join scope as s on p.source = s.source and p.account_id = s.account_id and not s.diffed
where p.valid_from <= %(day)s and (p.valid_to is null or p.valid_to > %(day)s)
    and not exists (select from unchanged_scopes as u where u.source = p.source and u.account_id = p.account_id
                    and u.region = p.region and u.service = p.service)
union all
select p.* from probe as k
inner join scope as s on k.source = s.source and k.account_id = s.account_id and s.diffed
cross join lateral (
    select * from raw.detection_presence as p
    where p.source = k.source and p.account_id = k.account_id and p.region = k.region and p.service = k.service
        and p.native_id = k.native_id and p.valid_from <= %(day)s and (p.valid_to is null or p.valid_to > %(day)s)
    offset 0
) as p;

insert into incoming ({_COLS})
select {", ".join("a." + c for c in _COLS.split(", "))} from at_day as a
inner join failed_scopes as f
    on a.source = f.source and a.account_id = f.account_id and a.region = f.region and a.service = f.service
where not exists (select from incoming as i where {_same("i", "a", version=False)});

delete from incoming where account_id not in (select account_id from scope);

create temp table next_day on commit drop as
select s.source, s.account_id, (
    select min(sc.partition_date) from raw.scans as sc
    where sc.source = s.source and sc.account_id = s.account_id and sc.partition_date > %(day)s
        and sc.status <> 'failed'
) as next_scan
from scope as s;

create temp table gone on commit drop as
select a.*, n.next_scan from at_day as a
inner join next_day as n on a.source = n.source and a.account_id = n.account_id
where not exists (select from incoming as i where {_same("i", "a")});

create temp table fresh on commit drop as
select distinct on (i.source, i.account_id, i.region, i.service, i.native_id) i.*, n.next_scan
from incoming as i
inner join next_day as n on i.source = n.source and i.account_id = n.account_id
where not exists (select from at_day as a where {_same("i", "a")});

-- what disappeared on this day: keep the part before it, and the part from the next scan on
insert into raw.detection_presence ({_COLS}, valid_from, valid_to)
select {_COLS}, next_scan, valid_to from gone
where next_scan is not null and (valid_to is null or next_scan < valid_to);
delete from raw.detection_presence as p using gone as g
where {_same("p", "g", version=False)} and p.valid_from = g.valid_from and g.valid_from = %(day)s;
update raw.detection_presence as p set valid_to = %(day)s from gone as g
where {_same("p", "g", version=False)} and p.valid_from = g.valid_from and g.valid_from < %(day)s;

-- what appeared on this day: merge with the same version ending here or starting at the next scan
-- Each fresh row probes its neighbours through an index (lateral, fenced by offset 0 so it is not flattened
-- back into a join). As plain joins, the planner trusted stale statistics that no interval ends on this day,
-- right after the update above ended thousands there, and compared every fresh row with every one of them:
-- 60-78 s at 1M detections, 0.2 s now.
create temp table fresh_resolved on commit drop as
select f.*, r.valid_from as right_from, r.valid_to as right_to, l.valid_from as left_from,
    case when f.next_scan is null then null when r.valid_from is not null then r.valid_to else f.next_scan end
        as new_end
from fresh as f
left join lateral (
    select r.valid_from, r.valid_to from raw.detection_presence as r
    where {_same("r", "f")} and r.valid_from = f.next_scan
    offset 0
) as r on true
left join lateral (
    select l.valid_from from raw.detection_presence as l
    where {_same("l", "f")} and l.valid_to = %(day)s
    offset 0
) as l on true;

delete from raw.detection_presence as p using fresh_resolved as f
where {_same("p", "f", version=False)} and p.valid_from = f.right_from;
update raw.detection_presence as p set valid_to = f.new_end, name = f.name, record_digest = f.record_digest
from fresh_resolved as f
where {_same("p", "f", version=False)} and p.valid_from = f.left_from;
insert into raw.detection_presence ({_COLS}, valid_from, valid_to)
select {_COLS}, %(day)s, new_end from fresh_resolved where left_from is null;

-- every key whose intervals this load touched, for the models derived per detection (migration 0011)
insert into raw.detection_changes (source, account_id, region, service, native_id, partition_date)
select source, account_id, region, service, native_id, %(day)s from gone
union
select source, account_id, region, service, native_id, %(day)s from fresh;

-- unchanged records read in another form than their version's digest (or before digests were kept): the
-- interval is the same, its digest now recognises them without a split
update raw.detection_presence as p set record_digest = r.record_digest from redigest as r
where {_same("p", "r", version=False)} and p.valid_from <= %(day)s and (p.valid_to is null or p.valid_to > %(day)s);
"""

SCAN_COLUMNS = ["scan_id", "partition_date", "source", "account_id", "started_at", "completed_at", "status",
                "detections_seen", "services_scanned", "regions_scanned", "regions", "errors",
                "snapshot_location", "snapshot_sha256", "compressed_bytes", "uncompressed_bytes", "scope_digests"]


def previous_scope_digests(conn: psycopg.Connection, source: str, day: date) -> dict[str, dict]:
    """Per account, the scope digests of its latest scan on or before `day`: what `day`'s presence reflects
    (an earlier load of the same day, or else the scan before it)."""
    return dict(conn.execute(
        "select distinct on (account_id) account_id, scope_digests from raw.scans "
        "where source = %s and partition_date <= %s and status <> 'failed' "
        "order by account_id, partition_date desc", (source, day)).fetchall())


def store_partition(conn: psycopg.Connection, day: date, scans: Iterable[AccountScan],
                    snapshots: SnapshotWriter | None = None,
                    declared_tags: Callable[[dict], list[tuple[str, str]]] | None = None) -> StoreStats:
    """Load one day of scans (any number of accounts and sources) in one transaction."""
    stats = StoreStats()
    seen: set[str] = set()
    scan_rows, failed, unchanged, declared, diffed, probe, redigest = [], [], [], [], [], [], []
    with conn.transaction():
        conn.execute(_TEMP)
        with conn.cursor().copy(f"copy staged ({_COLS}, provider, config_doc, state_doc) from stdin") as copy:
            for scan in scans:
                stats.accounts += 1
                staged = scan.staged or stage(scan, keep_json=snapshots is not None, declared_tags=declared_tags)
                if snapshots is not None and staged.records_json is None:
                    raise ValueError(f"{scan.source} scan of {scan.account_id!r} was staged without its snapshot "
                                     "JSON (keep_json) but snapshots are written")
                stats.rejects += staged.rejects
                declared += staged.declared
                redigest += [(scan.source, scan.account_id, *row) for row in staged.redigest]
                diffed.append(staged.diffed)
                probe += [(scan.source, scan.account_id, *key) for key in staged.probe]
                for row in staged.rows:
                    # a document goes over the wire only the first time its hash is seen in this load
                    config_doc = None if row.content_hash in seen else row.config_json
                    state_doc = None if row.state_hash is None or row.state_hash in seen else row.state_json
                    seen.add(row.content_hash)
                    if row.state_hash:
                        seen.add(row.state_hash)
                    copy.write_row((scan.source, scan.account_id, *row[:9], config_doc, state_doc))
                # each digest records the day its scope was read and how many detections it held, which an
                # unchanged scope carries into detections_seen without being read
                # a scope with a record rejected here was not fully scanned: its detections keep their state,
                # it records no digest (so it is read and quarantined again), and the scan is partial
                not_scanned = scan.failed_scopes | staged.failed_scopes
                status = "partial" if staged.failed_scopes and scan.status == "completed" else scan.status
                errors = scan.errors + [{"region": None, "service": None, "error_code": "Rejected", "object_ref": ref,
                                         "message": why} for ref, why, _ in staged.rejects]
                digests = {key: {"read_on": day, "detections": staged.per_scope[key], **value}
                           for key, value in scan.scope_digests.items()
                           if tuple(key.split("/", 1)) not in staged.failed_scopes}
                carried = {scope_key(region, service): digests[scope_key(region, service)]
                           for region, service in sorted(scan.unchanged_scopes)}
                count = staged.seen + sum(digest["detections"] for digest in carried.values())
                stats.detections += count
                stored = None
                if snapshots is not None:
                    # an unchanged scope's records are in the snapshot of the day it was read
                    payload = snapshot_json(scan.source, scan.account_id, day, staged.records_json,
                                            {key: digest["read_on"] for key, digest in carried.items()})
                    stored = snapshots.write(scan.source, day, scan.account_id, payload)
                failed += [(scan.source, scan.account_id, region, service) for region, service in not_scanned]
                unchanged += [(scan.source, scan.account_id, region, service)
                              for region, service in scan.unchanged_scopes]
                stats.scopes_unchanged += len(scan.unchanged_scopes)
                scan_rows.append((
                    scan_id(scan.source, scan.account_id, day), day, scan.source, scan.account_id, scan.started_at,
                    scan.completed_at, status, count, scan.services_scanned, len(scan.regions), scan.regions,
                    errors, *((stored.location, stored.sha256, stored.compressed_bytes, stored.uncompressed_bytes)
                                   if stored else (None, None, None, None)), digests,
                ))
        copy_rows(conn, "scope", ["source", "account_id", "status", "diffed"],
                  [(r[2], r[3], r[6], d) for r, d in zip(scan_rows, diffed, strict=True)])
        copy_rows(conn, "probe", ["source", "account_id", "region", "service", "native_id"], probe)
        copy_rows(conn, "failed_scopes", ["source", "account_id", "region", "service"], failed)
        copy_rows(conn, "unchanged_scopes", ["source", "account_id", "region", "service"], unchanged)
        copy_rows(conn, "declared", ["content_hash", "technique_id", "source_tag"], declared)
        copy_rows(conn, "redigest", ["source", "account_id", "region", "service", "native_id", "record_digest"],
                  redigest)
        conn.execute("delete from raw.scans as s using scope as sc where s.partition_date = %s "
                     "and s.source = sc.source and s.account_id = sc.account_id", (day,))
        copy_rows(conn, "raw.scans", SCAN_COLUMNS, scan_rows)
        conn.execute("analyze staged")
        stats.new_contents = conn.execute(_NEW_CONTENTS.format(hash="content_hash", doc="config_doc"),
                                          {"kind": "config", "day": day}).rowcount
        conn.execute(_NEW_CONTENTS.format(hash="state_hash", doc="state_doc"), {"kind": "state", "day": day})
        for statement in filter(str.strip, _DIFF.split(";\n")):  # one statement per extended-protocol call
            conn.execute(statement, {"day": day} if "%(day)s" in statement else None)
        stats.intervals_opened = conn.execute("select count(*) from fresh").fetchone()[0]
        stats.intervals_closed = conn.execute("select count(*) from gone").fetchone()[0]
    return stats
