{# Every technique of every version with its tactics, detection data and revoked-by replacement. #}
with

techniques as (
    select * from {{ ref('stg_attack__techniques') }}
),

tactics as (
    select * from {{ ref('stg_attack__tactics') }}
    where not is_revoked
),

detections as (
    select * from {{ ref('int_technique_detections_aggregated') }}
),

revocations as (
    -- a technique revoked in favour of several is rare; take one replacement deterministically here
    -- (the remap keeps all of them)
    select distinct on (attack_version, stix_id) *
    from {{ ref('int_technique_revocations_resolved') }}
    order by attack_version, stix_id, replacement_technique_id
),

technique_tactic_ids as (
    select
        techniques.attack_version,
        techniques.stix_id,
        array_agg(distinct tactics.tactic_id order by tactics.tactic_id) as tactic_ids
    from techniques
    cross join lateral unnest(techniques.tactic_shortnames) as phase (shortname)
    inner join tactics
        on techniques.attack_version = tactics.attack_version and phase.shortname = tactics.shortname
    group by techniques.attack_version, techniques.stix_id
)

select
    techniques.attack_version,
    techniques.stix_id,
    techniques.technique_id,
    techniques.name,
    techniques.description,
    techniques.parent_technique_id,
    techniques.is_subtechnique,
    techniques.platforms,
    coalesce(detections.data_components, techniques.data_sources_legacy) as data_sources,
    detections.log_sources,
    coalesce(detections.detection_guidance, techniques.detection_legacy) as detection_guidance,
    techniques.url,
    techniques.is_revoked,
    techniques.is_deprecated,
    revocations.replacement_technique_id as revoked_by_technique_id,
    revocations.revocation_chain,
    coalesce(technique_tactic_ids.tactic_ids, '{}') as tactic_ids
from techniques
left join detections
    on techniques.attack_version = detections.attack_version and techniques.stix_id = detections.technique_stix_id
left join revocations
    on techniques.attack_version = revocations.attack_version and techniques.stix_id = revocations.stix_id
left join technique_tactic_ids
    on
        techniques.attack_version = technique_tactic_ids.attack_version
        and techniques.stix_id = technique_tactic_ids.stix_id
