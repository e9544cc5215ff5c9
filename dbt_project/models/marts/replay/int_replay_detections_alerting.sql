{{ config(materialized='ephemeral') }}

-- Detections whose firing reaches a person today (docs/coverage-semantics.md, "Which detections count" without
-- the mapping condition): the current version, enabled, health not broken. A metric filter no alarm can alert on
-- is broken, so it never confirms anything however well its pattern matches (the alert path decides).
select
    d.id as detection_id,
    d.account_id,
    d.name
from {{ ref('detections') }} as d
where
    d.is_current
    and d.status = 'enabled'
    and d.account_id is not null
    and not exists (
        select from {{ ref('detection_health_findings') }} as broken
        where broken.detection_id = d.id and broken.status = 'broken'
    )
