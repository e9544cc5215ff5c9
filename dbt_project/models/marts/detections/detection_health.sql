{{ config(materialized='view') }}

-- Health of every live detection (spec §G): can it fire, and would anyone hear it? The findings are kept per
-- detection in detection_health_findings, computed again only when they can have changed; the detection was
-- last validated by its account's latest scan, read here so that a day's scan does not rewrite 1M rows.
select
    findings.id,
    findings.detection_id,
    findings.status,
    findings.health_score,
    accounts.last_scan_date::timestamp as last_validated,
    findings.validation_method,
    findings.error_details,
    findings.issues_found,
    findings.last_triggered,
    findings.trigger_count_30d,
    findings.api_drift_detected,
    findings.deprecated_apis,
    accounts.last_scan_date::timestamp as updated_at
from {{ ref('detection_health_findings') }} as findings
left join {{ ref('accounts') }} as accounts on findings.account_id = accounts.id
