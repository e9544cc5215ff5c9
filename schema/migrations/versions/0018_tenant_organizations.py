"""A tenant role may hold several organizations: a company's AWS organization, Google Cloud organization and
Microsoft Entra tenant behind one BI role

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The policies already read every row of app.tenants the reading role holds (migration 0015,
# app.tenant_account_ids), so a role with one row per organization reads the accounts of each; only the key
# changes. Downgrading keeps each role's first organization.
UP = """
alter table app.tenants drop constraint tenants_pkey, add primary key (role_name, organization_id);
"""

DOWN = """
delete from app.tenants as t using app.tenants as kept
where t.role_name = kept.role_name and t.organization_id > kept.organization_id;
alter table app.tenants drop constraint tenants_pkey, add primary key (role_name);
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
