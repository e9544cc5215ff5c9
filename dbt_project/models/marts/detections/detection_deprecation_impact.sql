{{ config(post_hook=["{{ add_foreign_keys() }}"], indexes=[{'columns': ['deprecation_id']}]) }}

-- Live detections whose parsed logic names a deprecated event source, API or finding type.
with

current_detections as (
    select
        id,
        content_hash,
        last_modified
    from {{ ref('detections') }}
    where is_current
),

signals as (
    select
        content_hash,
        signal_type,
        signal_value,
        -- 'iam.amazonaws.com:CreateUser' -> event source 'iam.amazonaws.com'
        case when signal_type = 'api_call' then split_part(signal_value, ':', 1) end as event_source
    from {{ ref('stg_detections__signals') }}
),

matches as (
    select distinct
        d.id as detection_id,
        dep.id as deprecation_id
    from current_detections as d
    inner join signals as s on d.content_hash = s.content_hash
    inner join {{ ref('api_deprecations') }} as dep
        on
            (dep.match_kind = 'event_source' and (
                s.event_source = dep.api_name
                or (s.signal_type = 'service' and s.signal_value = dep.api_name)
            ))
            or (
                dep.match_kind = 'event_name' and s.signal_type in ('api_call', 'api_call_name')
                and split_part(s.signal_value, ':', 2) = dep.api_name
            )
            or (
                dep.match_kind = 'finding_type' and s.signal_type = 'finding_type'
                and (s.signal_value = dep.api_name or dep.api_name like s.signal_value || '%')
            )
)

select
    matches.detection_id,
    matches.deprecation_id,
    d.last_modified as detected_at
from matches
inner join current_detections as d on matches.detection_id = d.id
