{# Any technique id of any loaded version -> the technique it means in the active version (or why none). #}
with

remap as (
    select * from {{ ref('int_technique_ids_remapped') }}
),

techniques as (
    select * from {{ ref('mitre_techniques') }}
)

select
    remap.recorded_version::varchar(20) as recorded_version,
    remap.recorded_technique_id::varchar(20) as recorded_technique_id,
    remap.active_version::varchar(20) as active_version,
    remap.technique_id::varchar(20) as technique_id,
    techniques.id as mitre_technique_id,
    remap.remap_kind::varchar(20) as remap_kind,
    remap.reason,
    remap.remap_chain
from remap
left join techniques
    on remap.active_version = techniques.attack_version and remap.technique_id = techniques.technique_id
