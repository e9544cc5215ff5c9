with

source as (
    select * from {{ source('attack', 'attack_bundles') }}
),

renamed as (
    select
        attack_version,
        domain,
        spec_version,
        source as bundle_source,
        sha256,
        object_counts,
        release_date,
        loaded_at,
        -- '9.0' < '18.1' numerically, not as text
        string_to_array(attack_version, '.')::int[] as version_sort
    from source
)

select * from renamed
