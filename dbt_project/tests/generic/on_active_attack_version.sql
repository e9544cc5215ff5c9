{# Rows whose technique (a mitre_techniques.id) belongs to an ATT&CK version that is not the active one: coverage
   is measured on the active version only (docs/coverage-semantics.md), so such a row would never count, and
   after `dcv attack activate` it means something was not carried onto the new version. Read from the few
   techniques of inactive versions, probing the model by its technique column, not by scanning the model.
   A technique id missing from mitre_techniques altogether is the foreign key's to refuse. #}
{% test on_active_attack_version(model, column_name) %}
select
    checked.{{ column_name }},
    versions.version as attack_version
from {{ ref('mitre_techniques') }} as techniques
inner join {{ ref('mitre_versions') }} as versions on techniques.version_id = versions.id
inner join {{ model }} as checked on techniques.id = checked.{{ column_name }}
where not versions.is_active
{% endtest %}
