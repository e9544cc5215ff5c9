select
    seed.id,
    providers.id as provider_id,
    seed.service_name,
    seed.description,
    cast('2026-01-01' as timestamp) as created_at
from {{ ref('detection_services_seed') }} as seed
inner join {{ ref('cloud_providers') }} as providers on seed.provider = providers.name
