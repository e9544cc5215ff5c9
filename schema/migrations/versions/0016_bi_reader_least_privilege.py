"""bi_reader least-privileged in the warehouse database: no temporary tables, connect granted by name

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# PostgreSQL gives PUBLIC (every role) CONNECT and TEMPORARY on each new database, and a role cannot be denied
# what PUBLIC holds. So PUBLIC loses both on the warehouse, and each role that needs them gets them by name:
# the project's roles create temporary tables (the daily load's staging, dbt's incremental models), bi_reader
# only connects (bi_tenant, the tenant roles' group, has its own CONNECT from 0015). A BI role added later needs
# `grant connect on database ... to it`, or membership of bi_reader or bi_tenant.
# Other databases of the server (dagster, postgres, template1) are not this migration's to change: the embedded
# server revokes PUBLIC's CONNECT there itself (lib/warehouse/connection.py); an external one is the DBA's
# (README, "Schemas and roles").
UP = """
revoke connect, temporary on database {db} from public;
grant connect, temporary on database {db} to dcv_ingest, dcv_transform, current_user;
grant connect on database {db} to bi_reader;
"""

DOWN = """
revoke connect on database {db} from bi_reader;
revoke connect, temporary on database {db} from dcv_ingest, dcv_transform;
grant connect, temporary on database {db} to public;
"""


def _db() -> str:
    return op.get_bind().exec_driver_sql("select quote_ident(current_database())").scalar()


def upgrade() -> None:
    op.execute(UP.format(db=_db()))


def downgrade() -> None:
    op.execute(DOWN.format(db=_db()))
