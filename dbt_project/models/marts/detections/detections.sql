{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='id',
    on_schema_change='fail',
    post_hook=["{{ add_foreign_keys() }}"],
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
-- the versions that are new or changed (a new version, or the one it superseded). Rows are never deleted here:
-- other marts reference them.
{{ changed_rows(ref('int_detections_assembled'), ignore=['raw_config']) }}
