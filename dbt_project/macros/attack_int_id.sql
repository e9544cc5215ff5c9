{# A stable positive integer id from natural keys (spec ids are INTEGER): the first 31 bits of their md5.
   Same inputs, same id, on every rebuild; a collision would fail the primary key loudly, never silently. #}
{% macro attack_int_id(columns) -%}
    (('x' || left(md5(concat_ws('|', {%- for c in columns %} cast({{ c }} as text){{ "," if not loop.last }}{%- endfor %})), 8))::bit(32)::int & 2147483647)
{%- endmacro %}
