{%- set scope = {'inputs': 'int_mapping_inputs_fingerprinted', 'parsed_from': 'content_technique_mappings',
                  'upstream': 'int_detection_mappings_resolved', 'column': 'detection_id'} %}
{%- set hooks = detection_scope_hooks(scope, delete_vanished=true) %}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    pre_hook=hooks.pre,
    post_hook=["{{ add_foreign_keys() }}"] + hooks.post,
    indexes=[
        {'columns': ['technique_id', 'confidence_score']},
        {'columns': ['confidence_score']},
        {'columns': ['mapping_method']},
        {'columns': ['validation_status', 'confidence_score desc', 'attack_technique_id', 'detection_id']},
    ],
) }}

-- Detection <-> technique mappings (spec §E), resolved in int_detection_mappings_resolved; a daily run writes
-- only new or changed mappings and removes the ones that no longer apply (a rejected verdict). The last index
-- serves the review queue: pending mappings, strongest first (mappings_pending_review). Only the detections
-- resolved again are compared (macros/detection_scope.sql).
{%- set state = detection_build_state(scope) %}
{{ changed_rows(ref('int_detection_mappings_resolved'), in_detection_scope(state, 'computed.detection_id')) }}
