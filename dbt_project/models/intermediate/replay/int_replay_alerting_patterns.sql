{{ config(indexes=[{'columns': ['pattern_id']}, {'columns': ['account_id']}]) }}

-- A metric filter no alarm can alert on is broken, so it never confirms anything however well its pattern
-- matches: the alert path decides (docs/replay.md).
select
    d.account_id,
    c.pattern_id,
    count(*) as detections,
    (array_agg(d.name order by d.name))[1:5] as detection_names
from {{ ref('detections') }} as d
inner join {{ ref('stg_replay__contents') }} as c on d.content_hash = c.content_hash
where
    d.is_current
    and d.status = 'enabled'
    and d.account_id is not null
    and c.pattern_id is not null
    and not exists (
        select from {{ ref('detection_health_findings') }} as broken
        where broken.detection_id = d.id and broken.status = 'broken'
    )
group by d.account_id, c.pattern_id
