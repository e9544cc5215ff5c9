{# Per CloudTrail event and technique (active ATT&CK version): which knowledge sources speak for it, with what
   confidence, and whether they agree. Read from every source's candidates (threat_indicators keeps only the
   most confident source per indicator), carried to the active version like threat_indicators.
   confidence is what an EventBridge rule on that event alone would be mapped at: the indicator
   threat_indicators keeps (most confident, then source name) x 0.85 when it needs context a configuration
   cannot show (docs/mapping.md, "Confidence scale"). #}
with

candidates as (
    select * from {{ ref('int_threat_indicators_unioned') }}
    where indicator_type = 'api_call'
),

remap as (
    select * from {{ ref('int_technique_ids_remapped') }}
    where remap_kind <> 'unresolved'
),

carried as (
    select
        candidates.provider,
        split_part(candidates.indicator_value, ':', 1) as event_source,
        split_part(candidates.indicator_value, ':', 2) as event_name,
        techniques.id as technique_id,
        techniques.technique_id as attack_technique_id,
        candidates.source,
        candidates.source_ref,
        candidates.confidence,
        candidates.confidence * case when candidates.context_requirements is null then 1.0 else 0.85 end
            as event_confidence
    from candidates
    inner join remap
        on
            candidates.attack_version = remap.recorded_version
            and candidates.technique_id = remap.recorded_technique_id
    inner join {{ ref('mitre_techniques') }} as techniques
        on remap.active_version = techniques.attack_version and remap.technique_id = techniques.technique_id
),

per_technique as (
    select
        provider,
        event_source,
        event_name,
        technique_id,
        min(attack_technique_id) as attack_technique_id,
        array_agg(distinct source order by source) as sources,
        jsonb_object_agg(source, confidence) as source_confidences,
        (array_agg(event_confidence order by confidence desc, source asc, source_ref asc))[1] as confidence,
        count(distinct source) as source_count
    from carried
    group by provider, event_source, event_name, technique_id
),

per_event as (
    select
        provider,
        event_source,
        event_name,
        count(distinct source) as event_source_count
    from carried
    group by provider, event_source, event_name
),

per_parent as (
    select
        provider,
        event_source,
        event_name,
        split_part(attack_technique_id, '.', 1) as parent_technique_id,
        count(distinct source) as parent_source_count
    from carried
    group by provider, event_source, event_name, split_part(attack_technique_id, '.', 1)
)

select
    {{ stable_id(['per_technique.provider', 'per_technique.event_source', 'per_technique.event_name',
                  'per_technique.attack_technique_id']) }} as id,
    providers.id as provider_id,
    per_technique.event_source::varchar(128) as event_source,
    per_technique.event_name::varchar(128) as event_name,
    per_technique.technique_id,
    per_technique.attack_technique_id::varchar(20) as attack_technique_id,
    per_technique.sources::text[] as sources,
    per_technique.source_confidences,
    per_technique.source_count::int as source_count,
    per_event.event_source_count::int as event_source_count,
    per_parent.parent_source_count::int as parent_source_count,
    round(per_technique.confidence, 2)::numeric(3, 2) as confidence,
    per_technique.confidence >= {{ var('coverage_min_confidence') }} as counts_alone,
    (case
        when per_event.event_source_count = 1 then 'sole_source'
        when per_technique.source_count = per_event.event_source_count then 'unanimous'
        when per_technique.source_count > 1 then 'shared'
        else 'disputed'
    end)::varchar(20) as agreement
from per_technique
inner join per_event
    on
        per_technique.provider = per_event.provider
        and per_technique.event_source = per_event.event_source
        and per_technique.event_name = per_event.event_name
inner join per_parent
    on
        per_technique.provider = per_parent.provider
        and per_technique.event_source = per_parent.event_source
        and per_technique.event_name = per_parent.event_name
        and split_part(per_technique.attack_technique_id, '.', 1) = per_parent.parent_technique_id
inner join {{ ref('cloud_providers') }} as providers on per_technique.provider = providers.name
