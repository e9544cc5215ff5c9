with

source as (
    select * from {{ source('app', 'account_attributes') }}
),

renamed as (
    select
        provider,
        account_id as account_identifier,
        environment,
        criticality,
        owner,
        updated_by,
        updated_at
    from source
)

select * from renamed
