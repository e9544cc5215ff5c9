{# Technique changes for every ordered pair of loaded versions (older -> newer), matched by STIX id. #}
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

techniques as materialized (
    select * from {{ ref('int_techniques_enriched') }}
),

old as materialized (
    select
        pairs.from_version,
        pairs.to_version,
        techniques.*
    from pairs
    inner join techniques on pairs.from_version = techniques.attack_version
),

new as materialized (
    select
        pairs.from_version,
        pairs.to_version,
        techniques.*
    from pairs
    inner join techniques on pairs.to_version = techniques.attack_version
),

matched as (
    select
        coalesce(old.from_version, new.from_version) as from_version,
        coalesce(old.to_version, new.to_version) as to_version,
        coalesce(old.stix_id, new.stix_id) as stix_id,
        old.technique_id as old_id,
        new.technique_id as new_id,
        old.name as old_name,
        new.name as new_name,
        old.tactic_ids as old_tactics,
        new.tactic_ids as new_tactics,
        old.is_subtechnique as old_is_sub,
        new.is_subtechnique as new_is_sub,
        old.stix_id is not null and not old.is_revoked and not old.is_deprecated as old_live,
        new.stix_id is not null and not new.is_revoked and not new.is_deprecated as new_live,
        coalesce(old.is_revoked, false) as old_revoked,
        coalesce(new.is_revoked, false) as new_revoked,
        coalesce(old.is_deprecated, false) as old_deprecated,
        coalesce(new.is_deprecated, false) as new_deprecated,
        new.revoked_by_technique_id as replacement_id,
        replacement.is_subtechnique as replacement_is_sub,
        replacement.tactic_ids as replacement_tactics
    from old
    full outer join new
        on old.from_version = new.from_version and old.to_version = new.to_version and old.stix_id = new.stix_id
    left join techniques as replacement
        on
            new.to_version = replacement.attack_version and new.revoked_by_technique_id = replacement.technique_id
            and not replacement.is_revoked
),

changes as (
    select
        *,
        'added' as change_kind
    from matched
    where old_id is null and new_live
    union all
    select
        *,
        'removed'
    from matched
    where new_id is null and old_live
    union all
    select
        *,
        'revoked'
    from matched
    where old_live and new_revoked
    union all
    select
        *,
        'deprecated'
    from matched
    where old_live and new_deprecated and not new_revoked
    union all
    select
        *,
        'reidentified'
    from matched
    where old_id <> new_id and not old_revoked
    union all
    select
        *,
        'renamed'
    from matched
    where old_live and new_live and old_name <> new_name
    union all
    select
        *,
        'moved_tactic'
    from matched
    where old_live and new_live and old_tactics <> new_tactics
    union all
    -- a sub-technique that became a technique (directly, or by being revoked in favour of one)
    select
        *,
        'promoted'
    from matched
    where old_live and old_is_sub and ((new_live and not new_is_sub) or (new_revoked and not replacement_is_sub))
    union all
    select
        *,
        'demoted'
    from matched
    where old_live and not old_is_sub and ((new_live and new_is_sub) or (new_revoked and replacement_is_sub))
)

select
    from_version,
    to_version,
    'technique' as object_type,
    change_kind,
    stix_id,
    coalesce(old_id, new_id) as external_id,
    case
        when change_kind = 'revoked' then replacement_id
        when change_kind in ('reidentified', 'promoted', 'demoted') then coalesce(replacement_id, new_id)
        else new_id
    end as new_external_id,
    old_name as name_before,
    new_name as name_after,
    old_tactics as tactics_before,
    coalesce(replacement_tactics, new_tactics) as tactics_after
from changes
