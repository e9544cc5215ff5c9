{# Tactic changes per ordered version pair; 'split' when a tactic's techniques now sit in two or more new tactics. #}
with

versions as (
    select
        attack_version,
        version_sort
    from {{ ref('stg_attack__bundles') }}
),

pairs as (
    select
        a.attack_version as from_version,
        b.attack_version as to_version
    from versions as a
    inner join versions as b on a.version_sort < b.version_sort
),

tactics as materialized (
    select * from {{ ref('stg_attack__tactics') }}
),

old as (
    select
        pairs.from_version,
        pairs.to_version,
        tactics.*
    from pairs inner join tactics on pairs.from_version = tactics.attack_version
),

new as (
    select
        pairs.from_version,
        pairs.to_version,
        tactics.*
    from pairs inner join tactics on pairs.to_version = tactics.attack_version
),

matched as (
    select
        coalesce(old.from_version, new.from_version) as from_version,
        coalesce(old.to_version, new.to_version) as to_version,
        coalesce(old.stix_id, new.stix_id) as stix_id,
        old.tactic_id as old_id,
        new.tactic_id as new_id,
        old.name as old_name,
        new.name as new_name,
        old.stix_id is not null and not old.is_revoked and not old.is_deprecated as old_live,
        new.stix_id is not null and not new.is_revoked and not new.is_deprecated as new_live
    from old
    full outer join new
        on old.from_version = new.from_version and old.to_version = new.to_version and old.stix_id = new.stix_id
),

-- where each technique of an old tactic went: the same STIX object, or its revoked-by replacement
technique_moves as (
    select
        changes.from_version,
        changes.to_version,
        old_tactic.tactic_id as old_tactic_id,
        new_tactic.tactic_id as new_tactic_id
    from {{ ref('int_techniques_compared') }} as changes
    cross join lateral unnest(changes.tactics_before) as old_tactic (tactic_id)
    cross join lateral unnest(changes.tactics_after) as new_tactic (tactic_id)
    where
        changes.change_kind in ('moved_tactic', 'revoked', 'reidentified')
        and not new_tactic.tactic_id = any(changes.tactics_before)
),

splits as (
    select
        moves.from_version,
        moves.to_version,
        moves.old_tactic_id,
        array_agg(distinct moves.new_tactic_id order by moves.new_tactic_id) as new_tactic_ids
    from technique_moves as moves
    inner join matched
        on
            moves.from_version = matched.from_version and moves.to_version = matched.to_version
            and moves.new_tactic_id = matched.new_id and matched.old_id is null
    group by moves.from_version, moves.to_version, moves.old_tactic_id
    having count(distinct moves.new_tactic_id) >= 2
),

changes as (
    select
        from_version,
        to_version,
        stix_id,
        old_id,
        new_id,
        old_name,
        new_name,
        'added' as change_kind,
        null::text[] as split_into
    from matched
    where old_id is null and new_live
    union all
    select
        from_version,
        to_version,
        stix_id,
        old_id,
        new_id,
        old_name,
        new_name,
        'removed',
        null
    from matched
    where new_id is null and old_live
    union all
    select
        from_version,
        to_version,
        stix_id,
        old_id,
        new_id,
        old_name,
        new_name,
        'deprecated',
        null
    from matched
    where old_live and new_id is not null and not new_live
    union all
    select
        from_version,
        to_version,
        stix_id,
        old_id,
        new_id,
        old_name,
        new_name,
        'renamed',
        null
    from matched
    where old_live and new_live and old_name <> new_name
    union all
    select
        from_version,
        to_version,
        stix_id,
        old_id,
        new_id,
        old_name,
        new_name,
        'reidentified',
        null
    from matched
    where old_live and new_live and old_id <> new_id
    union all
    select
        splits.from_version,
        splits.to_version,
        matched.stix_id,
        splits.old_tactic_id,
        null,
        matched.old_name,
        null,
        'split',
        splits.new_tactic_ids
    from splits
    inner join matched
        on
            splits.from_version = matched.from_version and splits.to_version = matched.to_version
            and splits.old_tactic_id = matched.old_id
)

select
    from_version,
    to_version,
    'tactic' as object_type,
    change_kind,
    stix_id,
    coalesce(old_id, new_id) as external_id,
    new_id as new_external_id,
    old_name as name_before,
    new_name as name_after,
    split_into
from changes
