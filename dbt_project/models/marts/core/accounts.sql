{{ config(
    indexes=[
        {'columns': ['provider_id']},
        {'columns': ['organization_id']},
    ]
) }}

-- Accounts (spec §A): the organization's listing, plus any account a scan or export saw that the listing
-- lacks (an export-only organization has no listing). Environment, criticality and owner are what people set in
-- app.account_attributes, else the account's tags in its latest listing (the keys the tag_key_* vars name,
-- macros/source_tags.sql), else unknown (criticality: medium).

with

listed as (
    select
        provider,
        account_identifier,
        account_name,
        organization_id,
        account_status,
        account_tags,
        partition_date,
        collected_at,
        row_number() over (partition by provider, account_identifier order by partition_date desc) as recency
    from {{ ref('stg_raw__org_accounts') }}
),

scanned as (
    select
        {{ account_provider('account_identifier') }} as provider,
        account_identifier,
        min(started_at) as first_seen,
        max(started_at) as last_seen,
        max(partition_date) as last_scan_date
    from {{ ref('stg_detections__scans') }}
    where account_identifier is not null and scan_status <> 'failed'
    group by account_identifier
),

latest_regions as (
    select distinct on (account_identifier)
        account_identifier,
        regions
    from {{ ref('stg_detections__scans') }}
    where account_identifier is not null and scan_status <> 'failed'
    order by account_identifier asc, partition_date desc
),

known as (
    select
        provider,
        account_identifier
    from listed
    union
    select
        provider,
        account_identifier
    from scanned
),

first_listed as (
    select
        provider,
        account_identifier,
        min(collected_at) as first_seen,
        max(collected_at) as last_seen
    from listed
    group by provider, account_identifier
),

attributes as (
    select * from {{ ref('stg_app__account_attributes') }}
),

providers as (
    select * from {{ ref('cloud_providers') }}
)

select
    {{ stable_id(['known.provider', 'known.account_identifier']) }} as id,
    providers.id as provider_id,
    known.account_identifier,
    coalesce(latest.account_name, known.account_identifier) as account_name,
    latest_regions.regions,
    latest.organization_id,
    coalesce(
        attributes.environment, {{ tag_environment(tag_value('latest.account_tags', 'tag_key_environment')) }}
    ) as environment,
    -- an account neither rated in app nor tagged counts as medium, so it is neither ignored nor over-weighted
    coalesce(
        attributes.criticality, {{ tag_criticality(tag_value('latest.account_tags', 'tag_key_criticality')) }}, 'medium'
    ) as criticality,
    -- not cast: the contract's varchar(255) makes an overlong owner fail the build, never cut it
    coalesce(attributes.owner, {{ tag_value('latest.account_tags', 'tag_key_owner') }}) as owner,
    coalesce(latest.account_status, 'active') as account_status,
    greatest(latest.partition_date, scanned.last_scan_date) as last_scan_date,
    least(first_listed.first_seen, scanned.first_seen)::timestamp as created_at,
    greatest(first_listed.last_seen, scanned.last_seen, attributes.updated_at)::timestamp as updated_at
from known
inner join providers on known.provider = providers.name
left join listed as latest
    on
        known.provider = latest.provider
        and known.account_identifier = latest.account_identifier
        and latest.recency = 1
left join first_listed
    on known.provider = first_listed.provider and known.account_identifier = first_listed.account_identifier
left join scanned
    on known.provider = scanned.provider and known.account_identifier = scanned.account_identifier
left join latest_regions on known.account_identifier = latest_regions.account_identifier
left join attributes
    on
        known.provider = attributes.provider
        and known.account_identifier = attributes.account_identifier
