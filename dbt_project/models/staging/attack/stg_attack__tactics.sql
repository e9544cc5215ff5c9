with

source as (
    select * from {{ ref('stg_attack__objects') }}
    where stix_type = 'x-mitre-tactic'
),

renamed as (
    select
        attack_version,
        stix_id,
        external_id as tactic_id,
        name,
        description,
        url,
        payload ->> 'x_mitre_shortname' as shortname,
        is_revoked,
        is_deprecated
    from source
)

select * from renamed
