{#
  post_hook for the large marts: their foreign keys (config.meta.foreign_keys) are added after the first load,
  as ALTER TABLE … ADD CONSTRAINT, which PostgreSQL validates in one set-based pass. Declared in the contract,
  the same keys are checked row by row during the insert, each check locking the referenced row: that doubled
  the first build of detection_mappings (measured at 180k rows: 5.8 s against 3.0 s + 0.2 s). Daily merges
  then write into the constrained table, so changed rows are still checked as they arrive.
#}
{% macro add_foreign_keys() %}
{% set meta = config.get('meta') %}
{% if execute and meta is mapping and not is_incremental() %}
    {% for fk in meta.get('foreign_keys', []) %}
        alter table {{ this }} add constraint {{ this.identifier }}_{{ fk['columns'] | join('_') }}_fkey
        foreign key ({{ fk['columns'] | join(', ') }})
        references {{ this.schema }}.{{ fk['to'] }} ({{ fk['to_columns'] | join(', ') }});
    {% endfor %}
{% endif %}
{% endmacro %}
