with

techniques as (
    select * from {{ ref('int_techniques_enriched') }}
)

select
    {{ attack_int_id(["'technique'", 'attack_version', 'technique_id']) }} as id,
    {{ attack_int_id(['attack_version']) }} as version_id,
    technique_id::varchar(20) as technique_id,
    name::varchar(255) as name,
    description,
    parent_technique_id::varchar(20) as parent_technique_id,
    platforms,
    data_sources,
    detection_guidance,
    url::varchar(500) as url,
    is_subtechnique,
    is_revoked,
    is_deprecated,
    revoked_by_technique_id::varchar(20) as revoked_by_technique_id,
    log_sources,
    tactic_ids,
    stix_id,
    attack_version
from techniques
