{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    post_hook=["{{ delete_vanished_rows(ref('int_detection_mappings_resolved')) }}", "{{ add_foreign_keys() }}"],
    indexes=[
        {'columns': ['technique_id', 'confidence_score']},
        {'columns': ['confidence_score']},
        {'columns': ['mapping_method']},
        {'columns': ['validation_status', 'confidence_score desc', 'attack_technique_id', 'detection_id']},
    ],
) }}

-- Detection <-> technique mappings (spec §E), resolved in int_detection_mappings_resolved; a daily run writes
-- only new or changed mappings and removes the ones that no longer apply (a rejected verdict). The last index
-- serves the review queue: pending mappings, strongest first (mappings_pending_review).
{{ changed_rows(ref('int_detection_mappings_resolved')) }}
