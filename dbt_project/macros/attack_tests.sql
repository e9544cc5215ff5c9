{# Exactly one row where the boolean column is true (mitre_versions.is_active). #}
{% test attack_exactly_one_true(model, column_name) %}
select count(*) as active_rows
from {{ model }}
where {{ column_name }}
having count(*) <> 1
{% endtest %}
