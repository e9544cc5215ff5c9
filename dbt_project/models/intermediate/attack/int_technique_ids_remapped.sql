{# Every technique id of every loaded version, resolved onto the active version:
   same STIX object (or the same id), then the active version's revoked-by chain. Unresolvable rows keep a reason. #}
with

active as (
    select attack_version from {{ ref('stg_attack__active_version') }}
),

techniques as materialized (
    select * from {{ ref('int_techniques_enriched') }}
),

revocations as (
    select * from {{ ref('int_technique_revocations_resolved') }}
),

recorded as (
    -- one object per (version, id): prefer the live one when a revoked object shares the id
    select distinct on (attack_version, technique_id)
        attack_version as recorded_version,
        technique_id as recorded_technique_id,
        stix_id
    from techniques
    order by attack_version, technique_id, is_revoked, is_deprecated
),

located as (
    select
        recorded.*,
        active.attack_version as active_version,
        coalesce(same_object.stix_id, same_id.stix_id) as active_stix_id,
        coalesce(same_object.technique_id, same_id.technique_id) as active_technique_id,
        coalesce(same_object.is_revoked, same_id.is_revoked) as active_is_revoked,
        coalesce(same_object.is_deprecated, same_id.is_deprecated) as active_is_deprecated
    from recorded
    cross join active
    left join techniques as same_object
        on active.attack_version = same_object.attack_version and recorded.stix_id = same_object.stix_id
    left join techniques as same_id
        on
            same_object.stix_id is null and active.attack_version = same_id.attack_version
            and recorded.recorded_technique_id = same_id.technique_id and not same_id.is_revoked
),

resolved as (
    select
        located.recorded_version,
        located.recorded_technique_id,
        located.active_version,
        case
            when located.active_stix_id is null then null
            when located.active_is_revoked then revocations.replacement_technique_id
            when located.active_is_deprecated then null
            else located.active_technique_id
        end as technique_id,
        case
            when located.active_stix_id is null then 'unresolved'
            when located.active_is_revoked and revocations.replacement_technique_id is null then 'unresolved'
            when located.active_is_revoked then 'revoked_by'
            when located.active_is_deprecated then 'unresolved'
            when located.active_technique_id <> located.recorded_technique_id then 'reidentified'
            else 'unchanged'
        end as remap_kind,
        case
            when located.active_stix_id is null
                then 'not in ATT&CK ' || located.active_version || ' (removed)'
            when located.active_is_revoked and revocations.replacement_technique_id is null
                then 'revoked in ATT&CK ' || located.active_version || ' without a replacement'
            when located.active_is_revoked and revocations.replacement_is_deprecated
                then 'replacement ' || revocations.replacement_technique_id || ' is deprecated'
            when located.active_is_deprecated and not located.active_is_revoked
                then 'deprecated in ATT&CK ' || located.active_version || ' without a replacement'
        end as reason,
        coalesce(revocations.revocation_chain, array[located.recorded_technique_id]) as remap_chain
    from located
    left join revocations
        on
            located.active_is_revoked and located.active_version = revocations.attack_version
            and located.active_stix_id = revocations.stix_id
)

select
    recorded_version,
    recorded_technique_id,
    active_version,
    case when reason is null then technique_id end as technique_id,
    case when reason is null then remap_kind else 'unresolved' end as remap_kind,
    reason,
    remap_chain
from resolved
