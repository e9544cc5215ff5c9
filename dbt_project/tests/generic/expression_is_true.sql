{# Rows for which a boolean SQL expression is false (dbt-utils' expression_is_true; see stable_id.sql for why
   this project writes its own). #}
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
