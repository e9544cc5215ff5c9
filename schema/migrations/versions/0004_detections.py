"""Detections: content-addressed configurations, presence intervals, scans, declared mappings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Growth follows churn, not estate size (docs/collection.md): each distinct configuration is stored once,
# keyed by its hash, and membership is kept as presence intervals that change only when a scan sees
# something different. The full scan of every day also goes to a compressed snapshot file (raw.scans).
UP = """
create table raw.detection_contents (
    content_hash text primary key,            -- sha256 of the canonical JSON of the stored document
    kind text not null check (kind in ('config', 'state')),
    provider text not null,
    service text not null,
    detection_type text not null,
    document jsonb not null,                  -- config: {api_object, related} minus volatile state
    first_seen date not null,
    loaded_at timestamptz not null default now()
);

create table raw.detection_presence (
    source text not null,                     -- 'aws' (live API), 'export', 'sigma', 'elastic'
    account_id text not null,                 -- '' for repository rules
    region text not null,                     -- '' when not regional
    service text not null,
    detection_type text not null,
    native_id text not null,
    name text,
    content_hash text not null references raw.detection_contents (content_hash),
    state_hash text references raw.detection_contents (content_hash),
    valid_from date not null,                 -- first scan day of this exact content + state
    valid_to date,                            -- first scan day it was no longer seen; null = still present
    primary key (source, account_id, region, service, native_id, valid_from),
    check (valid_to is null or valid_to > valid_from)
);
create index detection_presence_open on raw.detection_presence (source, account_id) where valid_to is null;
create index detection_presence_content on raw.detection_presence (content_hash);

create table raw.scans (
    scan_id uuid primary key,                 -- uuid5(source, account, day): stable across re-runs
    partition_date date not null,
    source text not null,
    account_id text not null,
    started_at timestamptz not null,
    completed_at timestamptz,
    status text not null check (status in ('in_progress', 'completed', 'failed', 'partial')),
    detections_seen integer not null default 0,
    services_scanned integer not null default 0,
    regions_scanned integer not null default 0,
    regions text[] not null default '{}',
    errors jsonb not null default '[]',
    snapshot_location text,
    snapshot_sha256 text,
    compressed_bytes bigint,
    uncompressed_bytes bigint,
    unique (partition_date, source, account_id)
);
create index scans_account_day on raw.scans (source, account_id, partition_date);

-- ATT&CK tags a rule declares itself (Sigma tags, Elastic threat blocks): compared with inference later.
create table raw.declared_mappings (
    content_hash text not null references raw.detection_contents (content_hash),
    technique_id text not null,
    source_tag text not null,
    primary key (content_hash, technique_id)
);

grant select, insert, update, delete on raw.detection_contents, raw.detection_presence, raw.scans,
    raw.declared_mappings to dcv_ingest;
grant select on raw.detection_contents, raw.detection_presence, raw.scans, raw.declared_mappings
    to dcv_transform;
"""

DOWN = """
drop table if exists raw.declared_mappings;
drop table if exists raw.scans;
drop table if exists raw.detection_presence;
drop table if exists raw.detection_contents;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
