{{ config(indexes=[{'columns': ['technique_id']}, {'columns': ['scenario_key']}]) }}

-- Scenario x technique of the active ATT&CK version: the techniques a scenario can confirm. A scenario's id
-- that the active version does not know (or has revoked) confirms nothing and is listed in replay_scenarios only.
select
    s.scenario_key::varchar(300) as scenario_key,
    t.id as technique_id,
    t.technique_id::varchar(20) as attack_technique_id
from {{ ref('stg_replay__scenarios') }} as s
cross join lateral unnest(s.technique_ids) as listed (attack_technique_id)
inner join {{ ref('mitre_techniques') }} as t on listed.attack_technique_id = t.technique_id
inner join {{ ref('mitre_versions') }} as v on t.version_id = v.id and v.is_active
where not t.is_revoked and not t.is_deprecated
