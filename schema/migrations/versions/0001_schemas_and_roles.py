"""Schemas and roles: raw and app owned here; staging/intermediate/marts/snapshots handed to dbt.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Roles are cluster-wide, so creation is guarded; the migrating user joins ingest/transform so the
# project can SET ROLE to them (least privilege per step) without separate passwords.
UP = """
do $$
begin
    if not exists (select from pg_roles where rolname = 'dcv_ingest') then
        create role dcv_ingest nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'dcv_transform') then
        create role dcv_transform nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'bi_reader') then
        create role bi_reader nologin;
    end if;
end
$$;
grant dcv_ingest, dcv_transform to current_user;
grant bi_reader to current_user;

create schema if not exists raw;
create schema if not exists app;
grant usage on schema raw to dcv_ingest, dcv_transform;
grant usage on schema app to dcv_ingest, dcv_transform;
alter default privileges in schema raw grant select, insert, update, delete on tables to dcv_ingest;
alter default privileges in schema raw grant select on tables to dcv_transform;
alter default privileges in schema raw grant usage, select on sequences to dcv_ingest;
alter default privileges in schema app grant select, insert, update, delete on tables to dcv_ingest;
alter default privileges in schema app grant select on tables to dcv_transform;
alter default privileges in schema app grant usage, select on sequences to dcv_ingest;

-- dbt's schemas exist up front, owned by the transform role, so the BI grant can be a default privilege.
do $$
declare s text;
begin
    foreach s in array array['staging', 'intermediate', 'marts', 'snapshots', 'seeds'] loop
        execute format('create schema if not exists %I authorization dcv_transform', s);
    end loop;
end
$$;
grant create on database current_database_placeholder to dcv_transform;
grant usage on schema marts to bi_reader;
alter default privileges for role dcv_transform in schema marts grant select on tables to bi_reader;
revoke all on schema public from bi_reader;
"""

DOWN = """
drop schema if exists staging, intermediate, marts, snapshots, seeds cascade;
drop schema if exists app cascade;
drop schema if exists raw cascade;
"""


def upgrade() -> None:
    db = op.get_bind().exec_driver_sql("select quote_ident(current_database())").scalar()
    op.execute(UP.replace("current_database_placeholder", db))


def downgrade() -> None:
    op.execute(DOWN)
