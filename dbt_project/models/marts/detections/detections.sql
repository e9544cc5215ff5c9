{%- set scope = {'inputs': 'int_detection_inputs_fingerprinted', 'parsed_from': none,
                  'upstream': 'int_detections_assembled', 'column': 'detection_key'} %}
{%- set hooks = detection_scope_hooks(scope) %}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    pre_hook=hooks.pre,
    post_hook=["{{ add_foreign_keys() }}"] + hooks.post,
    indexes=[
        {'columns': ['account_id', 'status']},
        {'columns': ['service_id']},
        {'columns': ['detection_type_id']},
        {'columns': ['last_modified']},
        {'columns': ['content_hash']},
        {'columns': ['name']},
        {'columns': ["to_tsvector('english', coalesce(name, ''))"], 'type': 'gin'},
    ],
) }}

-- Every version of every detection (spec §B), assembled in int_detections_assembled; a daily run writes only
-- the versions that are new or changed (a new version, or the one it superseded), and reads the configuration
-- documents of those alone. Rows are never deleted here: other marts reference them. Superseded and removed
-- versions have status 'deprecated', so the spec's queries (status = 'enabled') see exactly the live
-- configuration; previous_version_id chains them. Only the detections whose versions were derived again are
-- compared (macros/detection_scope.sql).
{%- set state = detection_build_state(scope) %}
with

changed as (
    {{ changed_rows(ref('int_detections_assembled'), in_detection_scope(state, 'computed.detection_key')) }}
)

select
    changed.id,
    changed.account_id,
    changed.service_id,
    changed.detection_type_id,
    changed.name,
    contents.document as raw_config,
    (case
        when not changed.is_current then 'deprecated'
        else {{ detection_status('types.type_name', "contents.document -> 'api_object'") }}
    end)::varchar(20) as status,
    changed.owner,
    changed.tags,
    changed.created_at,
    changed.last_modified,
    changed.discovered_at,
    changed.version,
    changed.previous_version_id,
    changed.detection_key,
    changed.account_identifier,
    changed.native_id,
    changed.region,
    changed.collection_source,
    changed.content_hash,
    changed.state_hash,
    changed.valid_from,
    changed.valid_to,
    changed.is_current
from changed
inner join {{ ref('stg_detections__contents') }} as contents on changed.content_hash = contents.content_hash
inner join {{ ref('detection_types') }} as types on changed.detection_type_id = types.id
