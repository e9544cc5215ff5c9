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

caught as (
    select
        alerting.account_id,
        r.scenario_key,
        count(distinct alerting.detection_id) as catching_detections,
        (array_agg(distinct alerting.name order by alerting.name))[1:3] as caught_by
    from {{ ref('detection_replay_results') }} as r
    inner join {{ ref('int_replay_detections_alerting') }} as alerting on r.detection_id = alerting.detection_id
    where r.fired and r.scenario_key in (select steps.scenario_key from steps)
    group by alerting.account_id, r.scenario_key
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
    caught.caught_by
from {{ ref('accounts') }} as a
cross join steps
left join caught on a.id = caught.account_id and steps.scenario_key = caught.scenario_key
