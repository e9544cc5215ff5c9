{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ forget_changed_detections() }}",
    post_hook=["{{ ensure_index(['derived_xid']) }}", "{{ prune_read_changes() }}"],
) }}

-- Detection versions from presence intervals (gaps and islands): consecutive intervals of one detection with
-- the same configuration hash are one version (a state-only change is not a new version). Dated by scan day,
-- so a backfill dates versions correctly — why this is not a dbt snapshot (docs/decisions.md).
-- Incremental: a daily run derives again only the detections whose intervals a load changed since the last
-- build (raw.detection_changes, macros/detection_changes.sql); the pre-hook first removes their old versions, so
-- a detection whose intervals are all gone (its only day loaded again without it) leaves nothing behind.
-- depends_on: {{ ref('stg_detections__changes') }}, {{ source('detections', 'detection_changes_pruned') }}
with

intervals as (
    select
        detection_key,
        collection_source,
        provider,
        account_identifier,
        region,
        service,
        detection_type,
        native_id,
        name,
        content_hash,
        state_hash,
        valid_from,
        valid_to,
        lag(content_hash) over (partition by detection_key order by valid_from) as previous_hash,
        lag(valid_to) over (partition by detection_key order by valid_from) as previous_end
    from {{ ref('stg_detections__presence') }}
    {%- if is_incremental() %}
        where detection_key in ({{ changed_detection_keys(detection_changes_mark()) }})
    {%- endif %}
),

marked as (
    select
        *,
        -- a new version starts when the configuration changes or the detection comes back after a gap
        case
            when (previous_hash is distinct from content_hash) or (previous_end is distinct from valid_from) then 1
            else 0
        end as starts_version
    from intervals
),

numbered as (
    select
        *,
        sum(starts_version) over (partition by detection_key order by valid_from) as version
    from marked
),

versions as (
    select
        detection_key,
        version,
        min(collection_source) as collection_source,
        min(provider) as provider,
        min(account_identifier) as account_identifier,
        min(region) as region,
        min(service) as service,
        min(detection_type) as detection_type,
        min(native_id) as native_id,
        (array_agg(name order by valid_from desc))[1] as name,
        min(content_hash) as content_hash,
        (array_agg(state_hash order by valid_from desc))[1] as state_hash,
        min(valid_from) as valid_from,
        case when bool_or(valid_to is null) then null else max(valid_to) end as valid_to
    from numbered
    group by detection_key, version
)

select
    *,
    valid_to is null as is_current,
    min(valid_from) over (partition by detection_key) as first_seen,
    -- where the next build reads the change log from: the oldest transaction still running as this one reads
    -- it (its changes, and any later one's, may not be visible yet)
    pg_snapshot_xmin(pg_current_snapshot())::text::bigint as changes_from_xid,
    -- which build derived the row: later builds' transactions have larger ids, so the models built per detection
    -- find exactly the detections derived since their own last build (macros/detection_scope.sql)
    txid_current() as derived_xid
from versions
