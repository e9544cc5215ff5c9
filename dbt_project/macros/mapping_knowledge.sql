{#
  content_technique_mappings is built incrementally, one configuration at a time; a row is only right for the
  knowledge it was matched against. The fingerprint covers everything a mapping depends on besides the
  configuration's own parse: the active version's indicators, the active version, and the parser versions in
  use. When it differs from the rows', the pre-hook empties the table and the build maps everything again.
#}
{% macro mapping_knowledge_fingerprint() %}
(
    select
        md5(
            coalesce((
                select string_agg(concat_ws(
                    '|', i.id, i.technique_id, i.indicator_type, i.indicator_value, i.context_requirements,
                    i.confidence, i.source, i.source_ref
                ), E'\n' order by i.id)
                from {{ ref('threat_indicators') }} as i
            ), '')
            || coalesce((select v.id::text from {{ ref('mitre_versions') }} as v where v.is_active), '')
            || coalesce((
                select string_agg(versions.parser_version, ',' order by versions.parser_version)
                from (
                    select l.parser_version from {{ ref('stg_detections__logic') }} as l group by l.parser_version
                ) as versions
            ), '')
        )::uuid
)
{% endmacro %}

{% macro forget_mappings_of_other_knowledge() %}
{% if is_incremental() %}
    delete from {{ this }} where knowledge_fingerprint <> {{ mapping_knowledge_fingerprint() }}
{% endif %}
{% endmacro %}
