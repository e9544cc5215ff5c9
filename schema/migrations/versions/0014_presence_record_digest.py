"""Presence intervals remember a digest of the record as it was read

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# A daily load reads every record of every export scope that changed, but ~99 % of those records are as they
# were. Splitting a record into configuration and state and hashing both canonically is most of a reader's time;
# a 16-byte digest of the record as read (lib/detections/record.py: record_digest) recognises an unchanged one
# for a tenth of that. Null on rows written before this revision: those records are split once more and their
# digest filled in by the next load that reads them.
UP = "alter table raw.detection_presence add column record_digest bytea"
DOWN = "alter table raw.detection_presence drop column record_digest"


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
