select
    seed.id,
    seed.type_name,
    services.id as service_id,
    seed.description,
    cast('2026-01-01' as timestamp) as created_at
from {{ ref('detection_types_seed') }} as seed
inner join {{ ref('detection_services') }} as services on seed.service_name = services.service_name
