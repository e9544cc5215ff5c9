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

deprecations as (
    select
        id,
        match_kind,
        api_name
    from {{ ref('api_deprecations') }}
),

-- configurations naming a deprecated API: one join per kind of match, each on plain equality where it can be,
-- so the planner hashes the signals once per kind instead of testing every signal against every deprecation
deprecated_contents as (
    select
        s.content_hash,
        dep.id as deprecation_id
    from {{ ref('stg_detections__signals') }} as s
    inner join deprecations as dep
        -- 'iam.amazonaws.com:CreateUser' -> event source 'iam.amazonaws.com'
        on split_part(s.signal_value, ':', 1) = dep.api_name
    where s.signal_type = 'api_call' and dep.match_kind = 'event_source'
    union
    select
        s.content_hash,
        dep.id
    from {{ ref('stg_detections__signals') }} as s
    inner join deprecations as dep on s.signal_value = dep.api_name
    where s.signal_type = 'service' and dep.match_kind = 'event_source'
    union
    select
        s.content_hash,
        dep.id
    from {{ ref('stg_detections__signals') }} as s
    inner join deprecations as dep
        -- a bare api_call_name is the event name itself
        on
            case when s.signal_type = 'api_call' then split_part(s.signal_value, ':', 2) else s.signal_value end
            = dep.api_name
    where s.signal_type in ('api_call', 'api_call_name') and dep.match_kind = 'event_name'
    union
    select
        s.content_hash,
        dep.id
    from {{ ref('stg_detections__signals') }} as s
    -- a configuration uses a retired finding type when it names it, or filters on a prefix narrower than a
    -- family ('Recon:IAMUser/UserPerm'); a family ('Recon:IAMUser/'), as every GuardDuty detector and many
    -- rules carry, still matches the types that replaced the retired ones, so it uses nothing retired
    inner join deprecations as dep
        on
            s.signal_value = dep.api_name
            or (s.signal_value not like '%/' and dep.api_name like s.signal_value || '%')
    where s.signal_type = 'finding_type' and dep.match_kind = 'finding_type'
)

select
    d.id as detection_id,
    deprecated_contents.deprecation_id,
    d.last_modified as detected_at
from current_detections as d
inner join deprecated_contents on d.content_hash = deprecated_contents.content_hash
