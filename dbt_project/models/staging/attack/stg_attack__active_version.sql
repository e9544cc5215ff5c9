with

source as (
    select * from {{ source('app', 'attack_active_version') }}
),

renamed as (
    select
        attack_version,
        activated_by,
        activated_at
    from source
)

select * from renamed
