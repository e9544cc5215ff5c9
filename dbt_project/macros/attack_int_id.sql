{# A stable positive bigint id from natural keys: the first 63 bits of their md5. Same inputs, same id, on every
   rebuild; the natural key stays beside it as a unique column. 63 bits keep a collision out of reach (about
   5e-10 at 100k techniques per version), where the spec's 31-bit INTEGER made one likely at 100k (~2 expected);
   a collision would still fail the primary key loudly, never silently. #}
{% macro attack_int_id(columns) -%}
    (('x' || left(md5(concat_ws('|', {%- for c in columns %} cast({{ c }} as text){{ "," if not loop.last }}{%- endfor %})), 16))::bit(64)::bigint & 9223372036854775807)
{%- endmacro %}
