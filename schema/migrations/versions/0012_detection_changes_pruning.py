"""The change log is pruned once a build has read it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# raw.detection_changes is needed only until the build that reads it (int_detection_versions_derived) has
# recorded a later position; kept, it grew by one row per changed detection per load (~1M rows, 176 MB, after a
# first load of 1M detections). That build acknowledges what it read by calling raw.prune_detection_changes with
# its new position; the function, owned like the log, deletes the rows both before that position and older than
# keep_days (a window for people and for any other reader), and records how far it pruned. A reader whose own
# position is behind that mark may have missed a deleted change: it derives everything again instead
# (macros/detection_changes.sql), so pruning never makes a build skip a change. dbt's role may call the
# function but still cannot delete from raw itself.
UP = """
create table raw.detection_changes_pruned (
    pruned_below_xid bigint not null,          -- every change logged by a transaction before this may be gone
    rows_deleted bigint not null,
    pruned_at timestamptz not null default now()
);
grant select on raw.detection_changes_pruned to dcv_transform;
-- the rows old enough to go are found directly, not among every row a build has read (1 s at 1M rows)
create index detection_changes_changed_at on raw.detection_changes (changed_at);

create function raw.prune_detection_changes(consumed_below bigint, keep_days integer)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    deleted bigint;
    below bigint;
begin
    with gone as (
        delete from raw.detection_changes
        where changed_xid < consumed_below and changed_at < now() - make_interval(days => keep_days)
        returning changed_xid
    )
    select count(*), max(changed_xid) + 1 into deleted, below from gone;
    if deleted > 0 then
        insert into raw.detection_changes_pruned (pruned_below_xid, rows_deleted) values (below, deleted);
    end if;
    return deleted;
end
$$;
revoke all on function raw.prune_detection_changes(bigint, integer) from public;
grant execute on function raw.prune_detection_changes(bigint, integer) to dcv_transform;
"""
DOWN = """
drop index if exists raw.detection_changes_changed_at;
drop function if exists raw.prune_detection_changes(bigint, integer);
drop table if exists raw.detection_changes_pruned;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
