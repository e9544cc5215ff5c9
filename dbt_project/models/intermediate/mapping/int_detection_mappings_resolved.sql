-- Detection <-> technique mappings (spec §E) for every detection version: inferred per configuration
-- (content_technique_mappings), plus people's manual mappings, with people's verdicts applied. Human input
-- lives in app.* keyed by (provider, account, native id) and is carried onto the active ATT&CK version by
-- review_state_remapped, so it survives every rebuild, configuration change and ATT&CK upgrade. A daily run
-- resolves only the detections whose versions were derived again or whose configuration was mapped again; a
-- change in people's mappings or verdicts, or in the knowledge, resolves all (macros/detection_scope.sql).
{%- set scope = {'inputs': 'int_mapping_inputs_fingerprinted', 'parsed_from': 'content_technique_mappings',
                  'upstream': 'detections', 'column': 'detection_id'} %}
{{ config(**detection_scope_intermediate(scope)) }}
{%- set state = detection_build_state(scope) %}
with

detections as (
    select
        id,
        detection_key,
        {{ account_provider('account_identifier') }} as provider,
        coalesce(account_identifier, '') as account_identifier,
        native_id,
        content_hash,
        last_modified
    from {{ ref('detections') }}
    where {{ in_detection_scope(state, 'id') }}
),

remapped as (
    select
        item_source,
        item_key,
        recorded_technique_id,
        mitre_technique_id,
        technique_id as attack_technique_id
    from {{ ref('review_state_remapped') }}
    where mitre_technique_id is not null
),

manual as (
    select
        concat_ws('/', m.provider, m.account_id, m.native_id) as item_key,
        r.mitre_technique_id as technique_id,
        r.attack_technique_id,
        m.confidence,
        m.rationale,
        m.mapped_by,
        m.mapped_at
    from {{ source('app', 'manual_mappings') }} as m
    inner join remapped as r
        on
            r.item_source = 'manual_mapping'
            and concat_ws('/', m.provider, m.account_id, m.native_id) = r.item_key
            and m.technique_id = r.recorded_technique_id
),

verdicts as (
    select
        concat_ws('/', v.provider, v.account_id, v.native_id) as item_key,
        r.mitre_technique_id as technique_id,
        v.verdict,
        v.decided_by,
        v.decided_at,
        v.note
    from {{ source('app', 'mapping_verdicts') }} as v
    inner join remapped as r
        on
            r.item_source = 'mapping_verdict'
            and concat_ws('/', v.provider, v.account_id, v.native_id) = r.item_key
            and v.technique_id = r.recorded_technique_id
),

manual_chosen as (
    -- one manual mapping per detection and technique (two recorded techniques may remap to one)
    select distinct on (d.id, manual.technique_id)
        d.id as detection_id,
        manual.item_key,
        manual.technique_id,
        manual.attack_technique_id,
        manual.confidence as confidence_score,
        'manual' as mapping_method,
        manual.mapped_by,
        manual.mapped_at::timestamp as mapped_at,
        manual.rationale,
        false as inference_disagrees
    from detections as d
    inner join manual on concat_ws('/', d.provider, d.account_identifier, d.native_id) = manual.item_key
    order by d.id asc, manual.technique_id asc, manual.confidence desc
),

chosen as (
    -- a person's manual mapping wins over an inferred one for the same detection and technique. Inferred rows
    -- are already one per detection and technique (one configuration each, content_technique_mappings' key),
    -- so only the few manual ones are deduplicated: sorting all 1.8M rows spilled ~470 MB to disk.
    select
        d.id as detection_id,
        concat_ws('/', d.provider, d.account_identifier, d.native_id) as item_key,
        c.technique_id,
        c.attack_technique_id,
        c.confidence_score,
        c.mapping_method,
        'system' as mapped_by,
        d.last_modified as mapped_at,
        c.rationale,
        c.inference_disagrees
    from detections as d
    inner join {{ ref('content_technique_mappings') }} as c on d.content_hash = c.content_hash
    where
        not exists (
            select from manual_chosen as m
            where m.detection_id = d.id and m.technique_id = c.technique_id
        )
    union all
    select * from manual_chosen
)

select
    {{ stable_id(['chosen.detection_id', 'chosen.attack_technique_id']) }} as id,
    chosen.detection_id,
    chosen.technique_id,
    chosen.attack_technique_id::varchar(20) as attack_technique_id,
    chosen.confidence_score::numeric(3, 2) as confidence_score,
    chosen.mapping_method::varchar(50) as mapping_method,
    chosen.mapped_by::varchar(255) as mapped_by,
    chosen.mapped_at::timestamp as mapped_at,
    (case
        when verdicts.verdict is not null then verdicts.verdict
        when chosen.mapping_method = 'manual' then 'validated'
        when chosen.inference_disagrees then 'disputed'
        else 'pending'
    end)::varchar(20) as validation_status,
    coalesce(verdicts.decided_by, case when chosen.mapping_method = 'manual' then chosen.mapped_by end)::varchar(255)
        as validated_by,
    coalesce(verdicts.decided_at, case when chosen.mapping_method = 'manual' then chosen.mapped_at end)::timestamp
        as validated_at,
    chosen.rationale || coalesce(' | reviewer: ' || verdicts.note, '') as rationale
from chosen
left join verdicts on chosen.item_key = verdicts.item_key and chosen.technique_id = verdicts.technique_id
-- a person's "rejected" removes the mapping; the verdict stays in app.mapping_verdicts for the next rebuild
where verdicts.verdict is distinct from 'rejected'
