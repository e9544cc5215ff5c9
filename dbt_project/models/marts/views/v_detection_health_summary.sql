{{ config(materialized='view') }}

-- Health of live detections per account (spec's v_detection_health_summary); superseded versions are not
-- counted.
select
    a.id as account_id,
    a.account_name,
    count(*) filter (where dh.status = 'healthy') as healthy_detections,
    count(*) filter (where dh.status = 'degraded') as degraded_detections,
    count(*) filter (where dh.status = 'broken') as broken_detections,
    count(*) filter (where dh.status = 'unknown' or dh.status is null) as unknown_detections,
    count(*) filter (where dh.api_drift_detected) as detections_with_drift
from {{ ref('accounts') }} as a
inner join {{ ref('detections') }} as d on a.id = d.account_id and d.is_current
left join {{ ref('detection_health') }} as dh on d.id = dh.detection_id
group by a.id, a.account_name
