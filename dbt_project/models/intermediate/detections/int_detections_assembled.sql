{%- set scope = {'inputs': 'int_detection_inputs_fingerprinted', 'parsed_from': none,
                  'upstream': none, 'column': 'detection_key'} %}
{{ config(**detection_scope_intermediate(scope)) }}
{%- set state = detection_build_state(scope) %}

-- Every version of every detection (spec §B), without its configuration document: raw_config and status
-- follow from content_hash and is_current, so `detections` reads documents only for the rows it writes
-- (a daily run's ~1 %, not a million documents into this table every day). A daily run assembles only the
-- detections whose versions were derived again (macros/detection_scope.sql).
-- Owner and tags: what people set in app.detection_attributes, else the detection's own AWS tags, read from the
-- version's latest state (ListTagsForResource's "Tags" are metadata, kept out of the configuration hash:
-- lib/detections/volatile_fields.yaml), or for a GuardDuty detector from its configuration (GetDetector's own
-- "Tags" map). The owner is the tag the var tag_key_owner names (macros/source_tags.sql).
with

versions as (
    select * from {{ ref('int_detection_versions_derived') }}
    where {{ in_detection_scope(state, 'detection_key') }}
),

attributes as (
    select * from {{ source('app', 'detection_attributes') }}
),

states as (
    select
        content_hash,
        document
    from {{ ref('stg_detections__contents') }}
),

with_ids as (
    select
        versions.*,
        {{ stable_id(['versions.detection_key', 'versions.version']) }} as id,
        case
            when versions.version > 1 then
                {{ stable_id(['versions.detection_key', 'versions.version - 1']) }}
        end as previous_version_id
    from versions
)

select
    v.id,
    accounts.id as account_id,
    services.id as service_id,
    types.id as detection_type_id,
    v.name::varchar(500) as name,
    coalesce(attributes.owner, {{ tag_value('source.tags', 'tag_key_owner') }})::varchar(255) as owner,
    coalesce(attributes.tags, {{ tag_array('source.tags') }}) as tags,
    v.first_seen::timestamp as created_at,
    v.valid_from::timestamp as last_modified,
    v.first_seen::timestamp as discovered_at,
    v.version::integer as version,
    v.previous_version_id,
    v.detection_key,
    v.account_identifier,
    v.native_id,
    v.region,
    v.collection_source,
    v.content_hash,
    v.state_hash,
    v.valid_from,
    v.valid_to,
    v.is_current
from with_ids as v
inner join {{ ref('detection_services') }} as services on v.service = services.service_name
inner join {{ ref('detection_types') }} as types on v.detection_type = types.type_name
left join {{ ref('accounts') }} as accounts
    on v.account_identifier = accounts.account_identifier
left join attributes
    on
        v.account_identifier = nullif(attributes.account_id, '')
        and v.native_id = attributes.native_id
left join states on v.state_hash = states.content_hash
left join states as configs on v.detection_type = 'guardduty_detector' and v.content_hash = configs.content_hash
cross join
    lateral (
        select {{ tag_object("coalesce(states.document -> 'Tags', configs.document -> 'api_object' -> 'Tags')") }} as tags
    ) as source
