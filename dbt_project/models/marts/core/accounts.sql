{{ config(
    indexes=[
        {'columns': ['id'], 'unique': true},
        {'columns': ['provider_id']},
        {'columns': ['organization_id']},
    ]
) }}

with

listed as (
    select
        provider,
        account_identifier,
        account_name,
        organization_id,
        account_status,
        partition_date,
        row_number() over (partition by provider, account_identifier order by partition_date desc) as recency,
        min(collected_at) over (partition by provider, account_identifier) as first_seen,
        max(collected_at) over (partition by provider, account_identifier) as last_seen
    from {{ ref('stg_raw__org_accounts') }}
),

latest as (
    select * from listed
    where recency = 1
),

attributes as (
    select * from {{ ref('stg_app__account_attributes') }}
),

providers as (
    select * from {{ ref('cloud_providers') }}
)

select
    {{ stable_id(['latest.provider', 'latest.account_identifier']) }} as id,
    providers.id as provider_id,
    latest.account_identifier,
    latest.account_name,
    cast(null as text[]) as regions,
    latest.organization_id,
    attributes.environment,
    -- an account nobody has rated yet counts as medium, so it is neither ignored nor over-weighted
    coalesce(attributes.criticality, 'medium') as criticality,
    attributes.owner,
    latest.account_status,
    latest.partition_date as last_scan_date,
    latest.first_seen::timestamp as created_at,
    greatest(latest.last_seen, attributes.updated_at)::timestamp as updated_at
from latest
inner join providers on latest.provider = providers.name
left join attributes
    on
        latest.provider = attributes.provider
        and latest.account_identifier = attributes.account_identifier
