{# Whether a detection version's mapping counts towards coverage (docs/coverage-semantics.md): the version is
   enabled, its health is not broken (degraded and unknown count; earlier versions have no health row), and the
   mapping is not disputed and is validated or at least coverage_min_confidence. `counted` is an
   int_detection_techniques_counted row. Health as an anti-join on the broken ones: at 1M it hashes ~74k
   findings, not all ~1M (0.43 s against 0.83 s for the count, warm). #}
{% macro counts_toward_coverage(counted) -%}
    {{ counted }}.configured_status = 'enabled'
    and not exists (
        select from {{ ref('detection_health_findings') }} as broken
        where broken.detection_id = {{ counted }}.detection_id and broken.status = 'broken'
    )
    and {{ counted }}.validation_status <> 'disputed'
    and (
        {{ counted }}.validation_status = 'validated'
        or {{ counted }}.confidence_score >= {{ var('coverage_min_confidence') }}
    )
{%- endmacro %}
