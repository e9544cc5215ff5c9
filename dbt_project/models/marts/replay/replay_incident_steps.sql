{{ config(indexes=[{'columns': ['account_id', 'incident_link']}, {'columns': ['incident_link']}]) }}

-- The incident lens (docs/replay.md): per account, each published incident's steps (the CloudTrail events a
-- TrailDiscover entry, or your own scenario, lists the incident on) and whether a detection that alerts today
-- fires on that step's records. "Which steps of incident X would this account's detections have caught".
with

steps as (
    select
        i.incident ->> 'link' as incident_link,
        min(i.incident ->> 'description') as incident_name,
        s.scenario_key,
        min(s.scenario_name) as step_name,
        min(s.technique_ids) as technique_ids
    from {{ ref('stg_replay__scenarios') }} as s
    cross join lateral jsonb_array_elements(s.incidents) as i (incident)
    group by i.incident ->> 'link', s.scenario_key
),

step_patterns as (
    select
        alerting.account_id,
        m.scenario_key,
        alerting.detections,
        alerting.detection_names
    from {{ ref('int_replay_alerting_patterns') }} as alerting
    inner join {{ ref('stg_replay__pattern_matches') }} as m on alerting.pattern_id = m.pattern_id
    where m.scenario_key in (select steps.scenario_key from steps)
),

caught as (
    select
        account_id,
        scenario_key,
        sum(detections) as catching_detections
    from step_patterns
    group by account_id, scenario_key
),

caught_names as (
    select
        step_patterns.account_id,
        step_patterns.scenario_key,
        (array_agg(distinct named.name order by named.name))[1:3] as caught_by
    from step_patterns
    cross join lateral unnest(step_patterns.detection_names) as named (name)
    group by step_patterns.account_id, step_patterns.scenario_key
)

select
    a.id as account_id,
    steps.incident_link::varchar(500) as incident_link,
    steps.incident_name::varchar(500) as incident_name,
    steps.scenario_key::varchar(300) as scenario_key,
    steps.step_name::varchar(300) as step_name,
    steps.technique_ids,
    caught.account_id is not null as caught,
    coalesce(caught.catching_detections, 0)::integer as catching_detections,
    caught_names.caught_by
from {{ ref('accounts') }} as a
cross join steps
left join caught on a.id = caught.account_id and steps.scenario_key = caught.scenario_key
left join caught_names on a.id = caught_names.account_id and steps.scenario_key = caught_names.scenario_key
