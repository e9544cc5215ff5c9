"""A change log of detection keys, written by each day's load

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Models derived per detection (its versions) recompute only the detections a load changed since their last
# build, not every interval of every detection. A load inserts, closes, splits, merges and deletes intervals;
# each touched key is logged here in the same transaction (lib/detections/store.py), so no change, a deleted
# interval included, can be missed the way a timestamp on the intervals themselves would miss a delete.
# changed_xid is the load's transaction id: a build records the oldest transaction still running when it read
# the log (pg_snapshot_xmin), and the next build reads from there, so a load that commits during a build, or one
# that started before another that committed first, is never skipped (timestamps could be: a transaction's time
# is when it started, not when its rows became visible). Rereading a change is harmless. changed_at is for people.
# Growth follows churn (one row per changed key per load).
UP = """
create table raw.detection_changes (
    source text not null,
    account_id text not null,
    region text not null,
    service text not null,
    native_id text not null,
    partition_date date not null,             -- the day whose load changed the key's intervals
    changed_xid bigint not null default pg_current_xact_id()::text::bigint,
    changed_at timestamptz not null default now()
);
create index detection_changes_changed_xid on raw.detection_changes (changed_xid);
grant select, insert, delete on raw.detection_changes to dcv_ingest;
grant select on raw.detection_changes to dcv_transform;
"""
DOWN = "drop table if exists raw.detection_changes"


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
