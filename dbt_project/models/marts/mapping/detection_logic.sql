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
-- only the new versions' rows. The jsonb columns are left out of the change test: a version's content_hash and
-- parsed_at, which it does compare, determine them.
{{ changed_rows(ref('int_detection_logic_joined'), ignore=['monitored_entities', 'trigger_conditions', 'actions']) }}
