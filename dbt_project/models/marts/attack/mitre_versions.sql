with

bundles as (
    select * from {{ ref('stg_attack__bundles') }}
),

active as (
    select * from {{ ref('stg_attack__active_version') }}
)

select
    {{ attack_int_id(['bundles.attack_version']) }} as id,
    bundles.attack_version::varchar(20) as version,
    bundles.release_date,
    coalesce(bundles.attack_version = active.attack_version, false) as is_active,
    bundles.loaded_at::timestamp as created_at,
    bundles.domain,
    bundles.spec_version,
    bundles.sha256,
    bundles.bundle_source,
    bundles.object_counts,
    bundles.version_sort,
    active.activated_by,
    active.activated_at
from bundles
left join active on bundles.attack_version = active.attack_version
