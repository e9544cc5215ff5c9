{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    post_hook=["{{ delete_vanished_rows(ref('int_detection_health_assessed')) }}", "{{ add_foreign_keys() }}"],
    indexes=[
        {'columns': ['status']},
        {'columns': ['last_validated']},
    ],
) }}

-- Health of every live detection (spec §G), assessed in int_detection_health_assessed; a daily run writes only
-- what changed and removes the rows of detections that are no longer live.
{{ changed_rows(ref('int_detection_health_assessed')) }}
