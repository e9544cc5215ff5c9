-- One row: a fingerprint of each small input that detection_mappings and int_detection_mappings_resolved read
-- besides versions and mapped configurations (macros/detection_scope.sql): people's manual mappings and verdicts
-- as carried onto the active ATT&CK version, and the knowledge configurations are matched with. When it differs
-- from what a model was last built with, the model makes one full pass. Built once per run, so a model, its hooks
-- and the marks it saves all read the same values.
select
    (
        select md5(coalesce(string_agg(m::text, E'\n' order by m::text), ''))
        from {{ source('app', 'manual_mappings') }} as m
    ) || (
        select md5(coalesce(string_agg(v::text, E'\n' order by v::text), ''))
        from {{ source('app', 'mapping_verdicts') }} as v
    ) || (
        select md5(coalesce(string_agg(r::text, E'\n' order by r::text), ''))
        from {{ ref('review_state_remapped') }} as r
        where r.item_source in ('manual_mapping', 'mapping_verdict')
    ) as mapping_review,
    -- the indicators, ATT&CK version and parsers content_technique_mappings matches with
    {{ mapping_knowledge_fingerprint() }}::text as mapping_knowledge
