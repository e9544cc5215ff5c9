{# Indicators on the active ATT&CK version: every candidate carried through the remap; one row per
   (provider, type, value, technique), keeping the most confident source. Candidates that cannot be carried
   are listed in review_state_unmapped. #}
with

candidates as (
    select * from {{ ref('int_threat_indicators_unioned') }}
),

remap as (
    select * from {{ ref('int_technique_ids_remapped') }}
    where remap_kind <> 'unresolved'
),

techniques as (
    select * from {{ ref('mitre_techniques') }}
),

providers as (
    select * from {{ ref('cloud_providers') }}
),

carried as (
    select distinct on (candidates.provider, candidates.indicator_type, candidates.indicator_value, techniques.id)
        techniques.id as technique_id,
        providers.id as provider_id,
        candidates.indicator_type,
        candidates.indicator_value,
        candidates.context_requirements,
        candidates.confidence,
        candidates.source,
        candidates.source_ref,
        candidates.attack_version,
        candidates.technique_id as recorded_technique_id,
        techniques.technique_id as attack_technique_id,
        candidates.provider
    from candidates
    inner join remap
        on
            candidates.attack_version = remap.recorded_version
            and candidates.technique_id = remap.recorded_technique_id
    inner join techniques
        on remap.active_version = techniques.attack_version and remap.technique_id = techniques.technique_id
    inner join providers on candidates.provider = providers.name
    order by
        candidates.provider asc, candidates.indicator_type asc, candidates.indicator_value asc, techniques.id asc,
        candidates.confidence desc, candidates.source asc, candidates.source_ref asc
)

select
    {{ attack_int_id(["'indicator'", 'provider', 'indicator_type', 'indicator_value', 'attack_technique_id']) }} as id,
    technique_id,
    provider_id,
    indicator_type::varchar(50) as indicator_type,
    indicator_value,
    context_requirements,
    confidence::numeric(3, 2) as confidence,
    current_timestamp::timestamp as created_at,
    source::varchar(30) as source,
    source_ref,
    attack_version::varchar(20) as attack_version,
    recorded_technique_id::varchar(20) as recorded_technique_id,
    attack_technique_id::varchar(20) as attack_technique_id
from carried
