{%- set scope = {'inputs': none, 'parsed_from': 'stg_detections__logic',
                  'upstream': 'int_detection_logic_joined', 'column': 'detection_id'} %}
{#- no vanished-row delete, unlike detection_mappings: a version's row is named by the version and is always
    produced once its configuration is parsed (the parser replaces a parse in one transaction and never drops
    one), so the delete found nothing in every build measured: 0.9-1.5 s alone at 1M, 7-13 s inside a daily build #}
{%- set hooks = detection_scope_hooks(scope) %}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    pre_hook=hooks.pre,
    post_hook=["{{ add_foreign_keys() }}"] + hooks.post,
    indexes=[
        {'columns': ['parse_confidence']},
    ],
) }}

-- Normalized logic per detection version (spec §D), joined in int_detection_logic_joined; a daily run writes
-- only the new versions' rows, and reads the parsed documents of those alone (a version's content_hash and
-- parsed_at, which the change test compares, determine them). Only the detections whose versions were derived
-- again or whose configuration was parsed again are compared (macros/detection_scope.sql).
{%- set state = detection_build_state(scope) %}
with

changed as (
    {{ changed_rows(ref('int_detection_logic_joined'), in_detection_scope(state, 'computed.detection_id')) }}
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
