{# Within one version: each revoked technique -> the non-revoked technique at the end of its revoked-by chain. #}
with recursive

techniques as (
    select * from {{ ref('stg_attack__techniques') }}
),

revoked_by as (
    select
        attack_version,
        source_ref,
        target_ref
    from {{ ref('stg_attack__relationships') }}
    where relationship_type = 'revoked-by' and source_type = 'attack-pattern'
),

chain (attack_version, start_stix_id, current_stix_id, depth, path) as (
    select
        t.attack_version,
        t.stix_id as start_stix_id,
        t.stix_id as current_stix_id,
        0,
        array[t.technique_id]
    from techniques as t
    where t.is_revoked
    union all
    select
        chain.attack_version,
        chain.start_stix_id,
        r.target_ref,
        chain.depth + 1,
        chain.path || target.technique_id
    from chain
    inner join revoked_by as r
        on
            chain.attack_version = r.attack_version
            and chain.current_stix_id = r.source_ref
    inner join techniques as target
        on r.attack_version = target.attack_version and r.target_ref = target.stix_id
    where chain.depth < 10
),

resolved as (
    select
        chain.attack_version,
        chain.start_stix_id as stix_id,
        chain.path[1] as technique_id,
        final.technique_id as replacement_technique_id,
        final.stix_id as replacement_stix_id,
        final.is_deprecated as replacement_is_deprecated,
        chain.path as revocation_chain
    from chain
    inner join techniques as final
        on chain.attack_version = final.attack_version and chain.current_stix_id = final.stix_id
    where chain.depth > 0 and not final.is_revoked
)

select * from resolved
