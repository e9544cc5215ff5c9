-- One row: a fingerprint of each small input that detections and int_detections_assembled read besides versions
-- (macros/detection_scope.sql). When it differs from what a model was last built with, the model makes one full
-- pass instead of computing only the changed detections. Built once per run, so a model, its hooks and the marks
-- it saves all read the same values.
select
    (
        select md5(coalesce(string_agg(concat_ws('|', a.id, a.account_identifier, a.provider_id), E'\n' order by a.id), ''))
        from {{ ref('accounts') }} as a
    ) as accounts,
    (
        select md5(coalesce(string_agg(concat_ws('|', s.id, s.service_name), E'\n' order by s.id), ''))
        from {{ ref('detection_services') }} as s
    ) || (
        select md5(coalesce(string_agg(concat_ws('|', t.id, t.type_name), E'\n' order by t.id), ''))
        from {{ ref('detection_types') }} as t
    ) as catalog,
    (
        select md5(coalesce(string_agg(a::text, E'\n' order by a.provider, a.account_id, a.native_id), ''))
        from {{ source('app', 'detection_attributes') }} as a
    ) as detection_attributes,
    -- which tag is the owner (dbt var): another key means every detection's owner is read again
    '{{ var("tag_key_owner") | replace("'", "''") }}'::text as tag_key_owner
