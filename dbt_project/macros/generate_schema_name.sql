{# Layers live in fixed schemas (staging, intermediate, marts, ...): BI and the spec's queries name them. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
