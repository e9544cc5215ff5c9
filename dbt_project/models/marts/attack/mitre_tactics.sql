with

tactics as (
    select * from {{ ref('stg_attack__tactics') }}
),

matrix as (
    select * from {{ ref('stg_attack__matrix_tactics') }}
)

select
    {{ attack_int_id(["'tactic'", 'tactics.attack_version', 'tactics.tactic_id']) }} as id,
    {{ attack_int_id(['tactics.attack_version']) }} as version_id,
    tactics.tactic_id::varchar(20) as tactic_id,
    tactics.name::varchar(255) as name,
    tactics.description,
    tactics.url::varchar(500) as url,
    matrix.display_order,
    tactics.shortname,
    tactics.stix_id,
    tactics.is_revoked,
    tactics.is_deprecated
from tactics
left join matrix on tactics.attack_version = matrix.attack_version and tactics.stix_id = matrix.tactic_stix_id
