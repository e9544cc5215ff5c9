{# How many groups, software and campaigns use each technique ('uses' relationships) — an input to risk scores. #}
with

techniques as (
    select * from {{ ref('mitre_techniques') }}
),

uses as materialized (
    select
        attack_version,
        source_ref,
        source_type,
        target_ref
    from {{ ref('stg_attack__relationships') }}
    where relationship_type = 'uses' and target_type = 'attack-pattern' and not is_revoked and not is_deprecated
),

users as materialized (
    select
        attack_version,
        stix_id,
        stix_type
    from {{ ref('stg_attack__objects') }}
    where stix_type in ('intrusion-set', 'malware', 'tool', 'campaign') and not is_revoked and not is_deprecated
),

counted as (
    select
        uses.attack_version,
        uses.target_ref,
        count(distinct uses.source_ref) filter (where users.stix_type = 'intrusion-set') as group_count,
        count(distinct uses.source_ref) filter (where users.stix_type in ('malware', 'tool')) as software_count,
        count(distinct uses.source_ref) filter (where users.stix_type = 'campaign') as campaign_count
    from uses
    inner join users on uses.attack_version = users.attack_version and uses.source_ref = users.stix_id
    group by uses.attack_version, uses.target_ref
)

select
    techniques.id as technique_id,
    techniques.version_id,
    techniques.technique_id as attack_technique_id,
    coalesce(counted.group_count, 0)::int as group_count,
    coalesce(counted.software_count, 0)::int as software_count,
    coalesce(counted.campaign_count, 0)::int as campaign_count,
    (
        coalesce(counted.group_count, 0) + coalesce(counted.software_count, 0)
        + coalesce(counted.campaign_count, 0)
    )::int as total_count
from techniques
left join counted
    on techniques.attack_version = counted.attack_version and techniques.stix_id = counted.target_ref
