"""Presence intervals are written without a per-row foreign-key check on their contents

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# A day's load inserts every new configuration and state into raw.detection_contents from the same staged rows,
# in the same transaction, before any interval that names them (lib/detections/store.py), and contents are never
# deleted, so the hashes cannot dangle (tests/detections/test_store.py checks it after every load). Checked per
# row, the two keys cost more than the insert itself: 99k new intervals 1.54 s with them, 0.70 s without.
UP = """alter table raw.detection_presence
    drop constraint detection_presence_content_hash_fkey,
    drop constraint detection_presence_state_hash_fkey"""
DOWN = """alter table raw.detection_presence
    add constraint detection_presence_content_hash_fkey
        foreign key (content_hash) references raw.detection_contents (content_hash),
    add constraint detection_presence_state_hash_fkey
        foreign key (state_hash) references raw.detection_contents (content_hash)"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
