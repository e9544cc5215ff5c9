-- One row: a fingerprint of what detection_health_findings reads besides detections, their parses and alarm
-- states (macros/detection_scope.sql): the deprecation list with which of its APIs are past end of life today
-- (a date passing one changes the verdicts of every detection using that API), and the detection types. When it
-- differs from what the findings were last built with, they are computed again in full. Built once per run, so
-- the model, its hooks and the marks it saves all read the same values.
select
    (
        select md5(coalesce(string_agg(concat(d::text, '|', d.end_of_life_date <= current_date), E'\n' order by d.id), ''))
        from {{ ref('api_deprecations') }} as d
    ) as deprecations,
    (
        select md5(coalesce(string_agg(concat_ws('|', t.id, t.type_name), E'\n' order by t.id), ''))
        from {{ ref('detection_types') }} as t
    ) as catalog
