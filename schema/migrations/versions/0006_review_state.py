"""Gap triage and other human review state for the coverage marts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Keys are natural and version-independent (account id, ATT&CK external id, detection native id) so a
# rebuild or an ATT&CK upgrade never orphans what a person decided; attack_version records what the
# technique id meant when the decision was made, for the remap through revoked-by chains.
UP = """
create table app.gap_triage (
    provider text not null default 'aws',
    account_id text not null,
    technique_id text not null,
    attack_version text,
    status text not null check (status in ('open', 'acknowledged', 'remediated', 'accepted_risk')),
    note text,
    updated_by text not null default current_user,
    updated_at timestamptz not null default now(),
    primary key (provider, account_id, technique_id)
);

create table app.detection_attributes (
    provider text not null default 'aws',
    account_id text not null,
    native_id text not null,
    owner text,
    tags text[],
    updated_by text not null default current_user,
    updated_at timestamptz not null default now(),
    primary key (provider, account_id, native_id)
);
grant select, insert, update, delete on app.gap_triage, app.detection_attributes to dcv_ingest;
grant select on app.gap_triage, app.detection_attributes to dcv_transform;
"""

DOWN = """
drop table if exists app.detection_attributes;
drop table if exists app.gap_triage;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
