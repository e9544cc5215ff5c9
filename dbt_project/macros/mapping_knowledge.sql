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
                -- the distinct parser versions, one probe of raw.detection_logic's parser_version index each
                -- (migration 0013): a group by read every parsed configuration, ~600 MB at 1M, on every build
                with recursive versions as (
                    (
                        select l.parser_version from {{ ref('stg_detections__logic') }} as l
                        where l.parser_version is not null order by l.parser_version limit 1
                    )
                    union all
                    select (
                        select l.parser_version from {{ ref('stg_detections__logic') }} as l
                        where l.parser_version > versions.parser_version order by l.parser_version limit 1
                    )
                    from versions where versions.parser_version is not null
                )
                select string_agg(versions.parser_version, ',' order by versions.parser_version) from versions
            ), '')
        )::uuid
)
{% endmacro %}

{# The fingerprint as a literal, read when the model runs (so after the models it reads are built): the planner
   then knows from the table's statistics how few rows differ from it. #}
{% macro mapping_knowledge_literal() %}
    {%- set fingerprint = run_query("select " ~ mapping_knowledge_fingerprint() ~ "::text").columns[0].values()[0] %}
    {{- return("'" ~ fingerprint ~ "'::uuid") }}
{% endmacro %}

{#- Rows of other knowledge, found through the table's knowledge_fingerprint index as two ranges (an index cannot
    answer `<>`): a daily build deleted nothing this way after reading the whole table (~460 MB at 1M). #}
{% macro forget_mappings_of_other_knowledge() %}
{% if is_incremental() %}
    {%- set fingerprint = mapping_knowledge_literal() %}
    delete from {{ this }} where knowledge_fingerprint < {{ fingerprint }} or knowledge_fingerprint > {{ fingerprint }}
{% endif %}
{% endmacro %}
