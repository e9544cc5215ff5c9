{{ config(materialized='ephemeral') }}

-- The techniques coverage is measured against, per provider (docs/coverage-semantics.md "in scope"):
-- the active version's live techniques whose platforms meet the provider's, with the parent's count of
-- in-scope sub-techniques for the roll-up.
with

platforms as (
    select
        providers.id as provider_id,
        array_agg(seed.platform::text) as platforms
    from {{ ref('cloud_providers') }} as providers
    inner join {{ ref('provider_platforms_seed') }} as seed on providers.name = seed.provider
    group by providers.id
),

scoped as (
    select
        platforms.provider_id,
        t.id as technique_id,
        t.technique_id as attack_technique_id,
        t.parent_technique_id,
        t.is_subtechnique,
        t.version_id
    from {{ ref('mitre_techniques') }} as t
    inner join {{ ref('mitre_versions') }} as v on t.version_id = v.id and v.is_active
    inner join platforms on t.platforms && platforms.platforms
    where not t.is_revoked and not t.is_deprecated
)

select
    scoped.*,
    count(subs.technique_id) as in_scope_subtechniques
from scoped
left join scoped as subs
    on
        scoped.provider_id = subs.provider_id
        and scoped.attack_technique_id = subs.parent_technique_id
group by 1, 2, 3, 4, 5, 6
