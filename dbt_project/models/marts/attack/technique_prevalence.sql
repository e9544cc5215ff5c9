{# How many groups, software and campaigns use each technique ('uses' relationships), over every platform and
   on each cloud provider's platforms: one row per technique x provider, an input to risk scores
   (docs/coverage-semantics.md, "Gaps"). The all-platform counts are the same on every provider's row.
   A use counts on a provider when it is plausibly on that provider's platforms:
   - software (malware, tool) by its x_mitre_platforms meeting the provider's (provider_platforms_seed);
   - groups and campaigns carry no platforms: by ATT&CK's procedure text for that use (the relationship's
     description, citations removed) naming the provider or the cloud (provider_terms_seed).
   cloud_incident_count carries technique_cloud_evidence's published incidents (TrailDiscover), so risk reads
   one table. #}
with

techniques as (
    select * from {{ ref('mitre_techniques') }}
),

providers as (
    select
        providers.id as provider_id,
        providers.name as provider,
        coalesce(array_agg(seed.platform::text) filter (where seed.platform is not null), '{}') as platforms
    from {{ ref('cloud_providers') }} as providers
    left join {{ ref('provider_platforms_seed') }} as seed on providers.name = seed.provider
    group by providers.id, providers.name
),

terms as (
    select
        provider,
        string_agg(term_pattern, '|' order by term_pattern) as pattern
    from {{ ref('provider_terms_seed') }}
    group by provider
),

uses as materialized (
    select
        attack_version,
        source_ref,
        target_ref,
        regexp_replace(coalesce(description, ''), '\(Citation:[^)]*\)', '', 'g') as procedure_text
    from {{ ref('stg_attack__relationships') }}
    where relationship_type = 'uses' and target_type = 'attack-pattern' and not is_revoked and not is_deprecated
),

users as materialized (
    select
        attack_version,
        stix_id,
        stix_type,
        array(select jsonb_array_elements_text(coalesce(payload -> 'x_mitre_platforms', '[]'))) as platforms
    from {{ ref('stg_attack__objects') }}
    where stix_type in ('intrusion-set', 'malware', 'tool', 'campaign') and not is_revoked and not is_deprecated
),

used as materialized (
    select
        uses.attack_version,
        uses.target_ref,
        uses.source_ref,
        uses.procedure_text,
        users.stix_type,
        users.platforms
    from uses
    inner join users on uses.attack_version = users.attack_version and uses.source_ref = users.stix_id
),

counted as (
    select
        attack_version,
        target_ref,
        count(distinct source_ref) filter (where stix_type = 'intrusion-set') as group_count,
        count(distinct source_ref) filter (where stix_type in ('malware', 'tool')) as software_count,
        count(distinct source_ref) filter (where stix_type = 'campaign') as campaign_count
    from used
    group by attack_version, target_ref
),

cloud_counted as (
    select
        providers.provider_id,
        used.attack_version,
        used.target_ref,
        count(distinct used.source_ref) filter (where used.stix_type = 'intrusion-set') as group_count,
        count(distinct used.source_ref) filter (where used.stix_type in ('malware', 'tool')) as software_count,
        count(distinct used.source_ref) filter (where used.stix_type = 'campaign') as campaign_count
    from used
    cross join providers
    left join terms on providers.provider = terms.provider
    where
        (used.stix_type in ('malware', 'tool') and used.platforms && providers.platforms)
        or (used.stix_type in ('intrusion-set', 'campaign') and used.procedure_text ~* terms.pattern)
    group by providers.provider_id, used.attack_version, used.target_ref
)

select
    techniques.id as technique_id,
    providers.provider_id,
    techniques.version_id,
    techniques.technique_id::varchar(20) as attack_technique_id,
    coalesce(counted.group_count, 0)::int as group_count,
    coalesce(counted.software_count, 0)::int as software_count,
    coalesce(counted.campaign_count, 0)::int as campaign_count,
    (
        coalesce(counted.group_count, 0) + coalesce(counted.software_count, 0)
        + coalesce(counted.campaign_count, 0)
    )::int as total_count,
    coalesce(cloud.group_count, 0)::int as cloud_group_count,
    coalesce(cloud.software_count, 0)::int as cloud_software_count,
    coalesce(cloud.campaign_count, 0)::int as cloud_campaign_count,
    (
        coalesce(cloud.group_count, 0) + coalesce(cloud.software_count, 0) + coalesce(cloud.campaign_count, 0)
    )::int as cloud_use_count,
    coalesce(evidence.incident_count, 0)::int as cloud_incident_count
from techniques
cross join providers
left join counted
    on techniques.attack_version = counted.attack_version and techniques.stix_id = counted.target_ref
left join cloud_counted as cloud
    on
        providers.provider_id = cloud.provider_id
        and techniques.attack_version = cloud.attack_version
        and techniques.stix_id = cloud.target_ref
left join {{ ref('technique_cloud_evidence') }} as evidence
    on techniques.id = evidence.technique_id and providers.provider_id = evidence.provider_id
