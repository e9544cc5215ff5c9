{# What could not be carried onto the active ATT&CK version, with the reason — never silently dropped. #}
select
    id,
    item_source,
    item_key,
    recorded_version,
    recorded_technique_id,
    active_version,
    reason
from {{ ref('review_state_remapped') }}
where technique_id is null
