{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    post_hook=["{{ delete_vanished_rows(ref('int_detection_logic_joined')) }}", "{{ add_foreign_keys() }}"],
    indexes=[
        {'columns': ['parse_confidence']},
    ],
) }}

-- Normalized logic per detection version (spec §D), joined in int_detection_logic_joined; a daily run writes
-- only the new versions' rows, and reads the parsed documents of those alone (a version's content_hash and
-- parsed_at, which the change test compares, determine them).
with

changed as (
    {{ changed_rows(ref('int_detection_logic_joined')) }}
)

select
    changed.id,
    changed.detection_id,
    logic.monitored_entities,
    logic.trigger_conditions,
    logic.actions,
    changed.severity,
    changed.false_positive_indicators,
    changed.parsed_at,
    changed.parser_version,
    changed.parse_confidence,
    changed.content_hash
from changed
inner join {{ ref('stg_detections__logic') }} as logic on changed.content_hash = logic.content_hash
