{# Real-world cloud incident evidence per technique x provider, from TrailDiscover (CC BY 4.0): the CloudTrail
   events that name the technique, how many of them the author marks as used in the wild (usedInWild), and the
   distinct published incidents (by link) listed on those events. TrailDiscover names no ATT&CK version: its
   ids are read on the active version and carried like every knowledge source (mitre_technique_remap); only
   a technique an event names directly counts. An input to risk scores (docs/coverage-semantics.md, "Gaps").
   Incidents are counted on every event that lists them: usedInWild is false on 6 events that still list
   incidents (StopLogging lists two). #}
with

events as (
    select * from {{ ref('stg_attack__traildiscover_events') }}
),

active as (
    select attack_version from {{ ref('stg_attack__active_version') }}
),

remap as (
    select * from {{ ref('int_technique_ids_remapped') }}
    where remap_kind <> 'unresolved'
),

named as (
    select
        events.*,
        techniques.id as technique_id,
        techniques.technique_id as attack_technique_id
    from events
    cross join unnest(events.technique_ids) as n (recorded_technique_id)
    cross join active
    inner join remap
        on active.attack_version = remap.recorded_version and n.recorded_technique_id = remap.recorded_technique_id
    inner join {{ ref('mitre_techniques') }} as techniques
        on remap.active_version = techniques.attack_version and remap.technique_id = techniques.technique_id
),

incidents as (
    select distinct
        named.provider,
        named.technique_id,
        lower(trim(coalesce(nullif(i.incident ->> 'link', ''), i.incident ->> 'description'))) as incident_key
    from named
    cross join jsonb_array_elements(named.incidents) as i (incident)
),

evidence as (
    select
        named.provider,
        named.technique_id,
        min(named.attack_technique_id) as attack_technique_id,
        count(distinct named.event_source || ':' || named.event_name) as event_count,
        count(distinct named.event_source || ':' || named.event_name) filter (where named.used_in_wild)
            as wild_event_count,
        array_agg(distinct named.event_source || ':' || named.event_name) filter (where named.used_in_wild)
            as wild_events,
        min(named.source_file) as source_file,
        min(named.licence) as licence,
        min(named.upstream) as upstream
    from named
    group by named.provider, named.technique_id
),

incident_counts as (
    select
        provider,
        technique_id,
        count(distinct incident_key) as incident_count
    from incidents
    group by provider, technique_id
)

select
    evidence.technique_id,
    providers.id as provider_id,
    evidence.attack_technique_id::varchar(20) as attack_technique_id,
    evidence.event_count::int as event_count,
    evidence.wild_event_count::int as wild_event_count,
    coalesce(incident_counts.incident_count, 0)::int as incident_count,
    coalesce(evidence.wild_events, '{}')::text[] as wild_events,
    'traildiscover'::varchar(30) as source,
    evidence.source_file,
    evidence.licence::varchar(30) as licence,
    evidence.upstream
from evidence
inner join {{ ref('cloud_providers') }} as providers on evidence.provider = providers.name
left join incident_counts
    on evidence.provider = incident_counts.provider and evidence.technique_id = incident_counts.technique_id
