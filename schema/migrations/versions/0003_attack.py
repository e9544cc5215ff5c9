"""ATT&CK knowledge base: verbatim STIX objects per version, external knowledge files, the active version

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Raw keeps every STIX object verbatim, keyed by (attack_version, stix_id); a version is replaced as a whole
# in one transaction, and skipped when its sha256 is unchanged. The active version is a person's decision,
# so it lives in app (never rebuilt by dbt) and is switched with `dcv attack activate <version>`.
UP = """
create table raw.attack_bundles (
    attack_version text primary key,          -- '18.1'
    domain text not null,                     -- 'enterprise-attack'
    spec_version text not null,               -- STIX '2.0' / '2.1'
    source text not null,                     -- file path or URL it was read from
    sha256 text not null,                     -- of the bytes as read (before gunzip)
    object_counts jsonb not null,             -- {"attack-pattern": 835, ...}
    release_date date,                        -- the collection's / matrix's modified date
    loaded_at timestamptz not null default now()
);

create table raw.attack_objects (
    attack_version text not null references raw.attack_bundles (attack_version) on delete cascade,
    stix_id text not null,
    stix_type text not null,
    external_id text,                         -- 'T1078.004', 'TA0001', 'AN0110' (null for relationships)
    payload jsonb not null,                   -- the object exactly as in the bundle
    primary key (attack_version, stix_id)
);
create index attack_objects_type on raw.attack_objects (attack_version, stix_type);

-- External knowledge files (CTID Mappings Explorer, ...): one row per mapping object, verbatim.
create table raw.knowledge_documents (
    source_file text primary key,             -- file name, e.g. aws-12.12.2024_attack-16.1-enterprise.json
    knowledge_source text not null,           -- 'ctid_mappings_explorer'
    source text not null,
    sha256 text not null,
    metadata jsonb not null,
    loaded_at timestamptz not null default now()
);
create table raw.knowledge_objects (
    source_file text not null references raw.knowledge_documents (source_file) on delete cascade,
    ordinal integer not null,
    payload jsonb not null,
    primary key (source_file, ordinal)
);

-- Exactly one row: the ATT&CK version coverage is computed against. History keeps who switched when.
create table app.attack_active_version (
    singleton boolean primary key default true check (singleton),
    attack_version text not null,
    activated_by text not null default current_user,
    activated_at timestamptz not null default now(),
    note text
);
create table app.attack_activation_log (
    id bigserial primary key,
    attack_version text not null,
    previous_version text,
    activated_by text not null default current_user,
    activated_at timestamptz not null default now(),
    note text
);

grant select, insert, update, delete on raw.attack_bundles, raw.attack_objects,
    raw.knowledge_documents, raw.knowledge_objects to dcv_ingest;
grant select on raw.attack_bundles, raw.attack_objects, raw.knowledge_documents, raw.knowledge_objects
    to dcv_transform;
grant select, insert, update, delete on app.attack_active_version, app.attack_activation_log to dcv_ingest;
grant usage, select on sequence app.attack_activation_log_id_seq to dcv_ingest;
grant select on app.attack_active_version, app.attack_activation_log to dcv_transform;
"""

DOWN = """
drop table if exists app.attack_activation_log;
drop table if exists app.attack_active_version;
drop table if exists raw.knowledge_objects;
drop table if exists raw.knowledge_documents;
drop table if exists raw.attack_objects;
drop table if exists raw.attack_bundles;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
