"""Index parsed logic by parse time

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# content_technique_mappings maps, on a daily run, the configurations parsed since its last build: a range on
# parsed_at that this index answers without reading the million parsed configurations.
# Built concurrently (outside the revision's transaction): the table is large and loads keep writing to it.
UP = "create index concurrently if not exists detection_logic_parsed_at on raw.detection_logic (parsed_at)"
DOWN = "drop index concurrently if exists raw.detection_logic_parsed_at"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(UP)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(DOWN)
