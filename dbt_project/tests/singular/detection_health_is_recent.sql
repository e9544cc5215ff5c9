{{ config(severity='warn') }}

-- The spec's staleness trigger (check_health_staleness: a WARNING when detection health is over 30 days old), as
-- a warning test: detection_health is a view over what each build derives, so there is no row insert for a
-- trigger to fire on, and the build is where someone looks. "Now" is the newest scan in the warehouse, so a
-- backfill or a replayed export is judged by its own dates: what warns is an account no scan has reached for
-- 30 days while others were scanned.
select
    health.detection_id,
    health.last_validated,
    latest.scan_started_at as newest_scan
from {{ ref('detection_health') }} as health
cross join (select max(scan_started_at) as scan_started_at from {{ ref('scan_snapshots') }}) as latest
where health.last_validated < latest.scan_started_at - interval '30 days'
