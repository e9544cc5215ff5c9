{# What Stratus Red Team says about each CloudTrail event: one row per event its detonations produced and
   technique it was produced for (technique_id null when the technique names no ATT&CK id). Lambda's
   API-versioned names (UpdateFunctionCode20150331v2) are read as the operation, as the parser reads them.

   is_setup: the event is the harness, not the technique, when the techniques whose detonations produced it
   share no ATT&CK tactic (AssumeRole and GetCallerIdentity precede credential access, discovery, execution and
   persistence alike; DescribeInstanceInformation and SendCommand stage both stealing instance credentials and
   running commands). Such rows are not indicators. #}
with

techniques as (
    select * from {{ ref('stg_attack__stratus_techniques') }}
),

events as (
    select
        techniques.provider,
        techniques.stratus_id,
        techniques.tactics,
        techniques.technique_ids,
        techniques.file_path,
        techniques.detonation_log,
        e.event ->> 'eventSource' as event_source,
        {{ cloudtrail_operation("e.event ->> 'eventSource'", "e.event ->> 'eventName'") }} as event_name,
        (e.event ->> 'readOnly')::boolean as read_only,
        (e.event ->> 'records')::int as record_count
    from techniques
    cross join jsonb_array_elements(techniques.events) as e (event)
),

producers as (
    select
        provider,
        event_source,
        event_name,
        count(distinct stratus_id) as technique_count
    from events
    group by provider, event_source, event_name
),

tactic_counts as (
    select
        events.provider,
        events.event_source,
        events.event_name,
        t.tactic,
        count(distinct events.stratus_id) as technique_count
    from events
    cross join unnest(events.tactics) as t (tactic)
    group by events.provider, events.event_source, events.event_name, t.tactic
),

setup as (
    -- no tactic is shared by every technique that produced the event
    select
        producers.provider,
        producers.event_source,
        producers.event_name,
        not exists (
            select 1 from tactic_counts
            where
                tactic_counts.provider = producers.provider
                and tactic_counts.event_source = producers.event_source
                and tactic_counts.event_name = producers.event_name
                and tactic_counts.technique_count = producers.technique_count
        ) as is_setup
    from producers
)

select
    events.provider,
    events.event_source,
    events.event_name,
    events.read_only,
    events.record_count,
    events.stratus_id,
    events.tactics,
    named.technique_id,
    setup.is_setup,
    events.file_path,
    events.detonation_log
from events
inner join setup
    on
        events.provider = setup.provider
        and events.event_source = setup.event_source
        and events.event_name = setup.event_name
left join lateral unnest(events.technique_ids) as named (technique_id) on true
