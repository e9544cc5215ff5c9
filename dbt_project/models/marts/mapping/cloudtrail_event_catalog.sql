{# Every CloudTrail event a knowledge source names, one row per event: its service, whether it is read-only,
   the techniques an EventBridge rule on it alone would be mapped to at the coverage threshold, or why it maps
   to none — a curated rule that it is of no attack interest (cloudtrail_event_interest_seed: a reviewer's
   judgment, which outranks weaker guesses; the rules never name an event our own indicators name, tested),
   weaker knowledge only (below_threshold), or nothing yet (unreviewed).
   read_only: a CloudTrail record's readOnly where a source holds one (Stratus Red Team's detonation logs), else
   the operation's verb (cloudtrail_read_only_verbs_seed, the longest prefix wins), else unknown. #}
with

technique_sources as (
    select * from {{ ref('cloudtrail_event_technique_sources') }}
),

providers as (
    select * from {{ ref('cloud_providers') }}
),

indicator_events as (
    select
        providers.name as provider,
        technique_sources.event_source,
        technique_sources.event_name,
        s.source as known_from
    from technique_sources
    inner join providers on technique_sources.provider_id = providers.id
    cross join unnest(technique_sources.sources) as s (source)
),

known as (
    select
        provider,
        event_source,
        event_name,
        known_from
    from indicator_events
    union
    select
        'aws',
        event_source,
        event_name,
        'aws_api_event_sources_seed'
    from {{ ref('aws_api_event_sources_seed') }}
    union
    select
        provider,
        event_source,
        {{ cloudtrail_operation('event_source', 'event_name') }},
        'traildiscover'
    from {{ ref('stg_attack__traildiscover_events') }}
    union
    select
        provider,
        event_source,
        event_name,
        'stratus_red_team'
    from {{ ref('int_stratus_event_techniques') }}
),

events as (
    select
        provider,
        event_source,
        event_name,
        array_agg(distinct known_from order by known_from) as known_from
    from known
    group by provider, event_source, event_name
),

recorded as (
    -- what CloudTrail wrote in a source's example records
    select
        provider,
        event_source,
        event_name,
        bool_and(read_only) as read_only
    from {{ ref('int_stratus_event_techniques') }}
    where read_only is not null
    group by provider, event_source, event_name
),

techniques as (
    select
        providers.name as provider,
        technique_sources.event_source,
        technique_sources.event_name,
        array_agg(technique_sources.attack_technique_id order by technique_sources.attack_technique_id)
        filter (where technique_sources.counts_alone) as technique_ids,
        array_agg(technique_sources.attack_technique_id order by technique_sources.attack_technique_id)
            as candidate_technique_ids,
        max(technique_sources.confidence) as best_confidence
    from technique_sources
    inner join providers on technique_sources.provider_id = providers.id
    group by providers.name, technique_sources.event_source, technique_sources.event_name
),

classified as (
    select
        events.*,
        split_part(events.event_source, '.', 1) as service,
        coalesce(recorded.read_only, verbs.read_only) as read_only,
        case
            when recorded.read_only is not null then 'cloudtrail_record'
            when verbs.read_only is not null then 'operation_verb'
        end as read_only_basis,
        techniques.technique_ids,
        techniques.candidate_technique_ids,
        techniques.best_confidence
    from events
    left join recorded
        on
            events.provider = recorded.provider
            and events.event_source = recorded.event_source
            and events.event_name = recorded.event_name
    left join techniques
        on
            events.provider = techniques.provider
            and events.event_source = techniques.event_source
            and events.event_name = techniques.event_name
    left join lateral (
        select v.read_only
        from {{ ref('cloudtrail_read_only_verbs_seed') }} as v
        where starts_with(events.event_name, v.name_prefix)
        order by length(v.name_prefix) desc
        limit 1
    ) as verbs on true
)

select
    {{ stable_id(['classified.provider', 'classified.event_source', 'classified.event_name']) }} as id,
    providers.id as provider_id,
    classified.event_source::varchar(128) as event_source,
    classified.event_name::varchar(128) as event_name,
    classified.service::varchar(64) as service,
    classified.read_only,
    classified.read_only_basis::varchar(20) as read_only_basis,
    classified.known_from::text[] as known_from,
    coalesce(classified.technique_ids, '{}')::text[] as technique_ids,
    coalesce(classified.candidate_technique_ids, '{}')::text[] as candidate_technique_ids,
    round(classified.best_confidence, 2)::numeric(3, 2) as best_confidence,
    (case
        when classified.technique_ids is not null then 'mapped'
        when interest.rule_ref is not null then 'no_attack_interest'
        when classified.candidate_technique_ids is not null then 'below_threshold'
        else 'unreviewed'
    end)::varchar(20) as status,
    case
        when classified.technique_ids is not null then null
        when interest.rule_ref is not null then interest.reason
        when classified.candidate_technique_ids is not null
            then
                'no indicator reaches the coverage threshold alone (best '
                || round(classified.best_confidence, 2) || ')'
        else 'no source maps it and no curated rule explains why: to review'
    end as no_technique_reason,
    case
        when classified.technique_ids is null then interest.rule_ref
    end::varchar(20) as reason_ref
from classified
inner join providers on classified.provider = providers.name
left join lateral (
    select
        r.rule_ref,
        r.reason
    from {{ ref('cloudtrail_event_interest_seed') }} as r
    where
        r.provider = classified.provider
        and classified.event_source ~ r.event_source_pattern
        and classified.event_name ~ r.event_name_pattern
        and (r.read_only is null or r.read_only = classified.read_only)
    order by r.rule_ref
    limit 1
) as interest on true
