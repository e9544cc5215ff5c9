{{ config(indexes=[{'columns': ['provider_id']}, {'columns': ['end_of_life_date']}]) }}

select
    seed.id,
    providers.id as provider_id,
    seed.service::varchar(100) as service,
    seed.api_name::varchar(255) as api_name,
    seed.match_kind::varchar(20) as match_kind,
    seed.deprecation_date,
    seed.end_of_life_date,
    seed.replacement::varchar(255) as replacement,
    seed.announcement_url::varchar(500) as announcement_url,
    seed.migration_guidance,
    cast('2026-01-01' as timestamp) as created_at
from {{ ref('api_deprecations_seed') }} as seed
inner join {{ ref('cloud_providers') }} as providers on seed.provider = providers.name
