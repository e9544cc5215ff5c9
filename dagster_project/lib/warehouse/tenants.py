"""Tenant roles: a BI role reading only its organizations' rows in marts.

A tenant role is a PostgreSQL role, member of `bi_tenant` (migration 0015), listed in `app.tenants` once per
organization it reads (the id accounts carry in `marts.accounts.organization_id`: an AWS Organizations id, a Google
Cloud organization number, an Azure tenant id; a company on three clouds has three, migration 0018). The
row-level security policies dbt keeps on the marts (macros/tenant_isolation.sql) do the filtering; adding a tenant
changes no policy.
Created without a login or password: whoever runs the warehouse gives it one (`alter role ... login password`),
so nothing secret is printed or stored by this command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Tenant:
    role: str
    organization_id: str
    accounts: int  # accounts of the organization in marts.accounts now (0 before its first build)


def default_role(organization_id: str) -> str:
    """o-abc123def0 -> tenant_o_abc123def0: a lowercase identifier that needs no quoting."""
    return ("tenant_" + re.sub(r"[^a-z0-9]+", "_", organization_id.lower()).strip("_"))[:63]


def _accounts(conn: psycopg.Connection, organization_id: str) -> int:
    if not conn.execute("select to_regclass('marts.accounts')").fetchone()[0]:
        return 0
    return conn.execute("select count(*) from marts.accounts where organization_id = %s",
                        (organization_id,)).fetchone()[0]


def add(conn: psycopg.Connection, organization_id: str, role: str | None = None) -> Tenant:
    """Create (or keep) the tenant role of an organization; a role named explicitly that already reads other
    organizations reads this one too. Idempotent; a name that is not a plain identifier, or a role that could not
    be isolated, is refused."""
    organization_id = organization_id.strip()
    if not organization_id:
        raise ValueError("give the organization id, e.g. `dcv tenant add o-abc123def0`")
    role = role or default_role(organization_id)
    if not _ROLE.match(role):
        raise ValueError(f"tenant role {role!r} must be a lowercase identifier (letters, digits, _; at most 63)")
    with conn.transaction():
        mapped = conn.execute("select 1 from app.tenants where role_name = %s limit 1", (role,)).fetchone()
        found = conn.execute("select rolsuper or rolbypassrls from pg_roles where rolname = %s", (role,)).fetchone()
        if found and found[0]:
            raise ValueError(f"role {role} is a superuser or bypasses row-level security: it cannot be a tenant role")
        if found and not mapped and role in ("bi_reader", "bi_tenant", "dcv_ingest", "dcv_transform"):
            raise ValueError(f"role {role} is one of the project's own roles: choose another name with --role")
        if not found:
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant bi_tenant to {}").format(sql.Identifier(role)))
        conn.execute("""insert into app.tenants (role_name, organization_id) values (%s, %s)
                        on conflict do nothing""", (role, organization_id))
    return Tenant(role, organization_id, _accounts(conn, organization_id))


def remove(conn: psycopg.Connection, role: str, organization_id: str | None = None) -> bool:
    """Take one organization from a tenant role, or all of them; the role is dropped once it reads none. False
    when the role did not read it."""
    with conn.transaction():
        gone = conn.execute("delete from app.tenants where role_name = %s and organization_id = coalesce(%s, "
                            "organization_id) returning 1", (role, organization_id)).fetchall()
        left = conn.execute("select 1 from app.tenants where role_name = %s limit 1", (role,)).fetchone()
        if gone and not left:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
    return bool(gone)


def tenants(conn: psycopg.Connection) -> list[Tenant]:
    rows = conn.execute("select role_name, organization_id from app.tenants order by 1, 2").fetchall()
    return [Tenant(role, org, _accounts(conn, org)) for role, org in rows]
