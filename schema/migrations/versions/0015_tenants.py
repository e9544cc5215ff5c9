"""Tenant roles: a BI role per organization that reads only that organization's rows in marts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Several organizations in one warehouse (docs/operations.md, "Tenants"). Each tenant role is a member of
# bi_tenant, which dbt grants the tenant-visible marts to; the row-level security policies dbt puts on those marts
# (macros/tenant_isolation.sql) admit the rows of the organizations in app.tenants that the reading role holds.
# app.tenants itself has a policy, so a tenant sees its own row and no other tenant's organization.
# The policies name what a tenant owns through the functions below, never a mart directly: a policy that named
# marts.accounts would stay on the copy dbt replaces each run and be dropped with it (cascade) when the run ends.
# The set-returning ones are plain SQL, invoker's rights, stable, so the planner inlines them into the query it
# plans (the account list is one array, computed once per query, so an account_id index serves the rest); their bodies
# are checked when called, as the marts they read are made by dbt after the migrations.
# The views read the seed of provider platforms as the reader (security_invoker), so both BI roles read that seed.
UP = """
do $$
begin
    if not exists (select from pg_roles where rolname = 'bi_tenant') then
        create role bi_tenant nologin;
    end if;
end
$$;
create table app.tenants (
    role_name name primary key,
    organization_id text not null,
    created_by text not null default current_user,
    created_at timestamptz not null default now()
);
alter table app.tenants enable row level security;
create policy own_tenancy on app.tenants for select to bi_tenant
    using (role_name in (select rolname from pg_roles where pg_has_role(oid, 'usage')));
set local check_function_bodies = off;
-- an array, read once per query as an InitPlan: `account_id = any (...)` is then an index condition. PL/pgSQL,
-- because it keeps the query's plan for the session (a SQL function not inlined is planned on every call: 0.3 ms
-- of every tenant query, more where several policies apply).
create function app.tenant_account_ids() returns uuid[] language plpgsql stable as $f$
begin
    return (select coalesce(array_agg(a.id), '{}') from marts.accounts as a
            where a.organization_id in (select t.organization_id from app.tenants as t));
end
$f$;
create function app.tenant_detection_ids() returns setof uuid language sql stable as $f$
    select d.id from marts.detections as d where d.account_id = any ((select app.tenant_account_ids())::uuid[])
$f$;
create function app.tenant_snapshot_ids() returns setof uuid language sql stable as $f$
    select s.id from marts.scan_snapshots as s where s.account_id = any ((select app.tenant_account_ids())::uuid[])
$f$;
create function app.tenant_content_hashes() returns setof text language sql stable as $f$
    select d.content_hash from marts.detections as d
    where d.account_id = any ((select app.tenant_account_ids())::uuid[])
$f$;
grant usage on schema app to bi_tenant;
grant select on app.tenants to bi_tenant;
grant usage on schema marts to bi_tenant;
grant usage on schema seeds to bi_reader, bi_tenant;
grant connect on database current_database_placeholder to bi_tenant;
"""

DOWN = """
drop function if exists app.tenant_content_hashes(), app.tenant_snapshot_ids(), app.tenant_detection_ids(),
    app.tenant_account_ids();
drop table if exists app.tenants;
revoke usage on schema marts from bi_tenant;
revoke usage on schema app from bi_tenant;
revoke usage on schema seeds from bi_reader, bi_tenant;
revoke connect on database current_database_placeholder from bi_tenant;
"""


def _database() -> str:
    return op.get_bind().exec_driver_sql("select quote_ident(current_database())").scalar()


def upgrade() -> None:
    # tenant roles connect through bi_tenant: a server may not give PUBLIC the right to connect
    op.execute(UP.replace("current_database_placeholder", _database()))


def downgrade() -> None:
    op.execute(DOWN.replace("current_database_placeholder", _database()))
