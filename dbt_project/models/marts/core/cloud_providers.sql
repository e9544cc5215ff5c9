select
    id,
    name,
    cast('2026-01-01' as timestamp) as created_at
from {{ ref('cloud_providers_seed') }}
