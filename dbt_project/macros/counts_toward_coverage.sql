{# Whether a detection version's mapping counts towards coverage (docs/coverage-semantics.md): the version is
   enabled, its health is not broken (degraded and unknown count), and the mapping is not disputed and is
   validated or at least coverage_min_confidence. `counted` is an int_detection_techniques_counted row, `health`
   its detection_health_findings row (absent: unknown). #}
{% macro counts_toward_coverage(counted, health) -%}
    {{ counted }}.configured_status = 'enabled'
    and coalesce({{ health }}.status, 'unknown') <> 'broken'
    and {{ counted }}.validation_status <> 'disputed'
    and (
        {{ counted }}.validation_status = 'validated'
        or {{ counted }}.confidence_score >= {{ var('coverage_min_confidence') }}
    )
{%- endmacro %}
