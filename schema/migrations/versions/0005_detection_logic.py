"""Parsed detection logic, signals, mapping verdicts and manual mappings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Parsed logic is keyed by content hash: identical configurations (the same CIS filter in 1,000 accounts)
# are parsed and stored once, and a day's parse work follows what changed, not the size of the estate.
UP = """
create table raw.detection_logic (
    content_hash text not null,
    parser_version text not null,
    detection_type text not null,
    parse_confidence numeric(3, 2) not null check (parse_confidence between 0 and 1),
    monitored_entities jsonb not null default '{}',
    trigger_conditions jsonb not null default '{}',
    actions jsonb not null default '[]',
    severity text check (severity in ('critical', 'high', 'medium', 'low', 'info')),
    reason text,
    parsed_at timestamptz not null default now(),
    primary key (content_hash)
);

create table raw.detection_signals (
    content_hash text not null references raw.detection_logic (content_hash) on delete cascade,
    signal_type text not null,
    value text not null,
    qualifier text not null default 'exact',
    primary key (content_hash, signal_type, value, qualifier)
);
create index detection_signals_lookup on raw.detection_signals (signal_type, value);

-- A person's verdict on an inferred mapping: survives every rebuild and content change (content_hash
-- records which configuration the person looked at).
create table app.mapping_verdicts (
    provider text not null default 'aws',
    account_id text not null default '',
    native_id text not null,
    technique_id text not null,
    attack_version text,
    verdict text not null check (verdict in ('validated', 'rejected', 'disputed')),
    content_hash text,
    note text,
    decided_by text not null default current_user,
    decided_at timestamptz not null default now(),
    primary key (provider, account_id, native_id, technique_id)
);

-- Mappings people add by hand (mapping_method 'manual').
create table app.manual_mappings (
    provider text not null default 'aws',
    account_id text not null default '',
    native_id text not null,
    technique_id text not null,
    attack_version text,
    confidence numeric(3, 2) not null default 1.00 check (confidence between 0 and 1),
    rationale text not null,
    mapped_by text not null default current_user,
    mapped_at timestamptz not null default now(),
    primary key (provider, account_id, native_id, technique_id)
);
grant select, insert, update, delete on raw.detection_logic, raw.detection_signals to dcv_ingest;
grant select on raw.detection_logic, raw.detection_signals to dcv_transform;
grant select, insert, update, delete on app.mapping_verdicts, app.manual_mappings to dcv_ingest;
grant select on app.mapping_verdicts, app.manual_mappings to dcv_transform;
"""

DOWN = """
drop table if exists app.manual_mappings;
drop table if exists app.mapping_verdicts;
drop table if exists raw.detection_signals;
drop table if exists raw.detection_logic;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
