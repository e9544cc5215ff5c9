{# A deterministic UUID from natural keys, so an id survives every rebuild (DESIGN.md §4 "stable keys").
   dbt-utils' generate_surrogate_key is the usual choice, but dbt packages download from outside the
   package registries this project may use (docs/decisions.md); this is the same md5 idea, typed as uuid. #}
{% macro stable_id(columns) -%}
    md5(concat_ws('|', {%- for c in columns %} coalesce(cast({{ c }} as text), '∅'){{ "," if not loop.last }}{%- endfor %}))::uuid
{%- endmacro %}
