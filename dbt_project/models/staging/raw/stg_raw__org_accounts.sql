with

source as (
    select * from {{ source('raw', 'org_accounts') }}
),

renamed as (
    select
        partition_date,
        provider,
        account_id as account_identifier,
        coalesce(account_name, payload ->> 'Name') as account_name,
        organization_id,
        lower(coalesce(status, payload ->> 'Status')) as account_status,
        payload ->> 'Email' as email,
        -- the account's tags (organizations list-tags-for-resource) as {key: value}; null when none are known
        {{ tag_object("payload -> 'Tags'") }} as account_tags,
        source as collection_source,
        collected_at
    from source
)

select * from renamed
