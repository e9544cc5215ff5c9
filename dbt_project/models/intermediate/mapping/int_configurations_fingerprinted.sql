{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='content_hash',
    on_schema_change='fail',
    indexes=[{'columns': ['content_hash'], 'unique': True}],
) }}

-- Each parsed configuration's signals as one fingerprint: configurations with the same fingerprint watch the
-- same events (coverage_overlaps' duplicates); one without signals has none. Incremental: a daily run
-- fingerprints only the configurations parsed since the last build, and a re-parse replaces the row. Computed
-- afresh every day, the fingerprints sorted all ~2.5M signals of a 1M-detection organization: ~3 s of
-- coverage_overlaps and ~300 MB spilled to disk.

with

parsed as (
    select
        content_hash,
        parsed_at
    from {{ ref('stg_detections__logic') }}
    where parsed_at > '{{ parse_mark() }}'::timestamptz
)

select
    parsed.content_hash,
    parsed.parsed_at,
    md5(string_agg(
        s.signal_type || '=' || s.signal_value || '/' || s.signal_qualifier, ',' order by
            s.signal_type, s.signal_value, s.signal_qualifier
    )) as fingerprint
from parsed
left join {{ ref('stg_detections__signals') }} as s on parsed.content_hash = s.content_hash
group by parsed.content_hash, parsed.parsed_at
