"""Replay: attack scenarios (CloudTrail records per ATT&CK technique) and what each detection pattern fires on

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# A scenario is replaced whole when its files change (new load_seq); its pattern matches go with it (cascade).
# Replay is keyed by pattern, not by detection: the same CIS filter pattern in 1,000 accounts is replayed once.
# replayed_through is the highest scenario load_seq a pattern has been replayed against, so a daily run
# replays new patterns against every scenario and old patterns against new scenarios only (docs/replay.md).
UP = """
create sequence raw.replay_scenario_load_seq;
create table raw.replay_scenarios (
    scenario_key text primary key,            -- 'stratus-red-team/aws.defense-evasion.cloudtrail-stop'
    scenario_source text not null,            -- 'stratus-red-team', 'traildiscover', or a user folder's name
    name text not null,
    description text,
    technique_ids text[] not null,            -- ATT&CK external ids as the source states them ('T1562.008')
    incidents jsonb not null default '[]',    -- published incidents [{description, link}] (TrailDiscover)
    source_files text[] not null,             -- the files the records were read from, relative to the folder
    provenance jsonb not null,                -- folder, licence, upstream commit, sha256 of each file
    sha256 text not null,                     -- over every file's path and hash: unchanged = not reloaded
    record_count integer not null,
    load_seq bigint not null default nextval('raw.replay_scenario_load_seq'),
    loaded_at timestamptz not null default now()
);
create index replay_scenarios_load_seq on raw.replay_scenarios (load_seq);

create table raw.replay_scenario_records (
    scenario_key text not null references raw.replay_scenarios (scenario_key) on delete cascade,
    ordinal integer not null,                 -- position among the scenario's records, in file order
    source_file text not null,
    event_source text not null,
    event_name text not null,
    record jsonb not null,                    -- the CloudTrail record verbatim
    primary key (scenario_key, ordinal)
);

create table raw.replay_patterns (
    pattern_id uuid primary key,              -- md5 of matcher and pattern text
    matcher text not null check (matcher in ('event_pattern', 'filter_pattern')),
    pattern text not null,
    error text,                               -- why it cannot be replayed (not a valid pattern); null = replayed
    matcher_version text not null,
    replayed_through bigint not null default 0,
    replayed_at timestamptz not null default now()
);

create table raw.replay_pattern_matches (
    pattern_id uuid not null references raw.replay_patterns (pattern_id) on delete cascade,
    scenario_key text not null references raw.replay_scenarios (scenario_key) on delete cascade,
    record_ordinals integer[] not null,       -- the scenario's records the pattern matched
    primary key (pattern_id, scenario_key)
);
create index replay_pattern_matches_scenario on raw.replay_pattern_matches (scenario_key);

-- Each replayable configuration (EventBridge rule, CloudWatch metric filter) and the pattern it carries; a
-- rule that cannot see CloudTrail events (a custom event bus, a schedule) has no pattern and says why.
create table raw.replay_contents (
    content_hash text primary key references raw.detection_contents (content_hash) on delete cascade,
    pattern_id uuid references raw.replay_patterns (pattern_id),
    note text,
    replay_version text not null,             -- the replay code that read it (lib/replay/engine.py)
    replayed_at timestamptz not null default now()
);
create index replay_contents_pattern on raw.replay_contents (pattern_id);

grant select, insert, update, delete on raw.replay_scenarios, raw.replay_scenario_records, raw.replay_patterns,
    raw.replay_pattern_matches, raw.replay_contents to dcv_ingest;
grant usage, select on sequence raw.replay_scenario_load_seq to dcv_ingest;
grant select on raw.replay_scenarios, raw.replay_scenario_records, raw.replay_patterns, raw.replay_pattern_matches,
    raw.replay_contents to dcv_transform;
"""

DOWN = """
drop table if exists raw.replay_contents;
drop table if exists raw.replay_pattern_matches;
drop table if exists raw.replay_patterns;
drop table if exists raw.replay_scenario_records;
drop table if exists raw.replay_scenarios;
drop sequence if exists raw.replay_scenario_load_seq;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
