-- Each account detection version x mapped technique, with the facts coverage counts it by
-- (docs/coverage-semantics.md): when the version was live, its configured status, the mapping's confidence and
-- verdict, and what coverage_overlaps compares (the signals it watches in its region, and its response). Narrow,
-- so coverage_overlaps and the coverage history read it and not the detections, their mappings and the parsed
-- logic: at 1M detections those are ~2.3 GB, this ~0.2 GB. Policy stays with the readers (the confidence cut-off
-- is a var) and so does health, which changes without a new version (an alarm removed breaks its filter). A
-- daily run computes only the detections whose versions were derived again or whose configuration was mapped
-- again (macros/detection_scope.sql), as detection_mappings does.
{%- set scope = {'inputs': 'int_mapping_inputs_fingerprinted', 'parsed_from': 'content_technique_mappings',
                  'upstream': 'detection_mappings', 'column': 'detection_id'} %}
{%- set materialization = detection_scope_intermediate(scope) %}
{#- read whole by aggregates, unlike the other scoped tables: planned from statistics from its first build on #}
{%- do materialization.post_hook.append("{{ analyze_new_table() }}") %}
{{ config(**materialization) }}
{%- set state = detection_build_state(scope) %}
with

versions as (
    select
        detections.id,
        detections.account_id,
        detections.region,
        detections.content_hash,
        detections.valid_from,
        detections.valid_to,
        detections.is_current,
        -- a live version's status is its configured status; a superseded one's is read from its configuration
        case
            when detections.is_current then detections.status
            else {{ detection_status('types.type_name', "detections.raw_config -> 'api_object'") }}
        end as configured_status
    from {{ ref('detections') }} as detections
    inner join {{ ref('detection_types') }} as types on detections.detection_type_id = types.id
    where detections.account_id is not null and {{ in_detection_scope(state, 'detections.id') }}
)

select
    versions.id as detection_id,
    versions.account_id,
    mappings.technique_id,
    versions.valid_from,
    versions.valid_to,
    versions.is_current,
    versions.configured_status::varchar(20) as configured_status,
    mappings.confidence_score,
    mappings.validation_status,
    -- per region: CloudTrail delivers a regional event only in its region, so copies are not duplicates
    md5(concat_ws('@', coalesce(fingerprints.fingerprint, versions.content_hash), versions.region))::uuid
        as signals_key,
    md5(coalesce(logic.severity, '') || '|' || coalesce(logic.actions::text, ''))::uuid as response_key
from versions
inner join {{ ref('detection_mappings') }} as mappings on versions.id = mappings.detection_id
left join {{ ref('int_configurations_fingerprinted') }} as fingerprints
    on versions.content_hash = fingerprints.content_hash
left join {{ ref('stg_detections__logic') }} as logic on versions.content_hash = logic.content_hash
