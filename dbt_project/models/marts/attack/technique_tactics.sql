with

techniques as (
    select * from {{ ref('mitre_techniques') }}
),

tactics as (
    select * from {{ ref('mitre_tactics') }}
)

select
    techniques.id as technique_id,
    tactics.id as tactic_id
from techniques
cross join lateral unnest(techniques.tactic_ids) as technique_tactic (tactic_id)
inner join tactics
    on
        techniques.version_id = tactics.version_id and technique_tactic.tactic_id = tactics.tactic_id
        and not tactics.is_revoked
