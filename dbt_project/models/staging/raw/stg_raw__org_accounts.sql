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
        -- AWS ACTIVE and Google Cloud ACTIVE are 'active'; so is an Azure subscription's Enabled
        case
            when provider = 'azure' and lower(status) = 'enabled' then 'active'
            else lower(coalesce(status, payload ->> 'Status'))
        end as account_status,
        payload ->> 'Email' as email,
        -- the account's tags as {key: value}; null when none are known: AWS's from organizations
        -- list-tags-for-resource, a project's labels (gcloud projects describe), a subscription's tags (az tag list)
        {{ tag_object("case provider when 'gcp' then payload -> 'labels' when 'azure' then payload -> 'tags' "
                      "else payload -> 'Tags' end") }} as account_tags,
        source as collection_source,
        collected_at
    from source
)

select * from renamed
