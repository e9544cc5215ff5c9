{# Rows must be unique over a set of columns (the spec's multi-column UNIQUE constraints). #}
{% test unique_combination_of(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
