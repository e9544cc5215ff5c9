"""Per-scope digests of the export files a scan read

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# {"<region>/<service>": {"digest": <sha256 of the scope's files and the reader>, "read_on": <day>}}: a daily
# load skips a scope whose files are byte-identical to the previous scan's and leaves its detections as they
# were (growth and work follow churn); read_on names the scan whose snapshot holds the scope's records.
UP = "alter table raw.scans add column scope_digests jsonb not null default '{}'"
DOWN = "alter table raw.scans drop column scope_digests"


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
