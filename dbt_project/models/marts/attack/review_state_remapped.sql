{# Human review state and version-bound knowledge, each recorded against some ATT&CK version, on the active
   version: carried rows have technique_id set; the others have the reason they could not be carried. #}
with

active as (
    select attack_version from {{ ref('stg_attack__active_version') }}
),

loaded as (
    select attack_version from {{ ref('stg_attack__bundles') }}
),

items as (
    select
        'gap_triage' as item_source,
        concat_ws('/', provider, account_id) as item_key,
        technique_id,
        attack_version
    from {{ source('app', 'gap_triage') }}
    union all
    select
        'mapping_verdict',
        concat_ws('/', provider, account_id, native_id),
        technique_id,
        attack_version
    from {{ source('app', 'mapping_verdicts') }}
    union all
    select
        'manual_mapping',
        concat_ws('/', provider, account_id, native_id),
        technique_id,
        attack_version
    from {{ source('app', 'manual_mappings') }}
    union all
    select
        'indicator:' || source,
        concat_ws('/', indicator_type, indicator_value, source_ref),
        technique_id,
        attack_version
    from {{ ref('int_threat_indicators_unioned') }}
),

versioned as (
    -- no recorded version means "the version active when it was recorded": assume today's active one
    select distinct
        items.*,
        coalesce(items.attack_version, active.attack_version) as recorded_version
    from items
    cross join active
),

remap as (
    select * from {{ ref('mitre_technique_remap') }}
)

select
    {{ stable_id(['versioned.item_source', 'versioned.item_key', 'versioned.technique_id']) }} as id,
    versioned.item_source::varchar(40) as item_source,
    versioned.item_key,
    versioned.recorded_version::varchar(20) as recorded_version,
    versioned.technique_id::varchar(20) as recorded_technique_id,
    active.attack_version::varchar(20) as active_version,
    remap.technique_id::varchar(20) as technique_id,
    remap.mitre_technique_id,
    coalesce(remap.remap_kind, 'unresolved')::varchar(20) as remap_kind,
    case
        when loaded.attack_version is null then 'ATT&CK ' || versioned.recorded_version || ' is not loaded'
        when remap.recorded_technique_id is null
            then versioned.technique_id || ' does not exist in ATT&CK ' || versioned.recorded_version
        else remap.reason
    end as reason,
    remap.remap_chain
from versioned
cross join active
left join loaded on versioned.recorded_version = loaded.attack_version
left join remap
    on
        versioned.recorded_version = remap.recorded_version
        and versioned.technique_id = remap.recorded_technique_id
