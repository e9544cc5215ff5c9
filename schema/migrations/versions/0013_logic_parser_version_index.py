"""Index parsed logic by parser version

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# content_technique_mappings is only right for the parser versions its configurations were parsed with, so every
# build lists the versions in use (macros/mapping_knowledge.sql). Without an index that is a scan of the million
# parsed configurations (~600 MB at 1M, four times per build); with it, one index probe per distinct version.
# Built concurrently (outside the revision's transaction): the table is large and loads keep writing to it.
UP = "create index concurrently if not exists detection_logic_parser_version on raw.detection_logic (parser_version)"
DOWN = "drop index concurrently if exists raw.detection_logic_parser_version"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(UP)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(DOWN)
