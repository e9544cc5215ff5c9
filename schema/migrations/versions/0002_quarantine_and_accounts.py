"""Quarantine for rejected input, the organization's account list, and user-owned account attributes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = """
-- Every loader puts what it rejects here, with the file/object and the reason; the rest of the run goes on.
create table raw.quarantine (
    id bigserial primary key,
    source text not null,                 -- loader name: 'attack_bundle', 'export_files', 'sigma', ...
    partition_date date,                  -- null for unpartitioned loads
    object_ref text not null,             -- file path, STIX id, ARN: what was rejected
    reason text not null,
    payload text,                         -- the offending input (truncated), for a person to inspect
    quarantined_at timestamptz not null default now()
);
create index quarantine_source_partition on raw.quarantine (source, partition_date);

-- One row per account per scan day, verbatim from Organizations ListAccounts (or a configured list).
create table raw.org_accounts (
    partition_date date not null,
    provider text not null,
    account_id text not null,
    account_name text,
    organization_id text,
    status text,
    source text not null,
    collected_at timestamptz not null,
    payload jsonb not null,
    primary key (partition_date, provider, account_id)
);

-- What people say about an account. Never touched by dbt or by a rebuild.
create table app.account_attributes (
    provider text not null default 'aws',
    account_id text not null,
    environment text check (environment in ('prod', 'staging', 'dev')),
    criticality text check (criticality in ('high', 'medium', 'low')),
    owner text,
    updated_by text,
    updated_at timestamptz not null default now(),
    primary key (provider, account_id)
);
grant select, insert, update, delete on all tables in schema raw to dcv_ingest;
grant usage, select on all sequences in schema raw to dcv_ingest;
grant select on all tables in schema raw to dcv_transform;
grant select, insert, update, delete on all tables in schema app to dcv_ingest;
grant select on all tables in schema app to dcv_transform;
"""

DOWN = """
drop table if exists app.account_attributes;
drop table if exists raw.org_accounts;
drop table if exists raw.quarantine;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
