{# What changed between any two loaded ATT&CK versions (older -> newer), technique and tactic changes. #}
with

techniques as (
    select * from {{ ref('int_techniques_compared') }}
),

tactics as (
    select * from {{ ref('int_tactics_compared') }}
),

unioned as (
    select
        from_version,
        to_version,
        object_type,
        change_kind,
        stix_id,
        external_id,
        new_external_id,
        name_before,
        name_after,
        tactics_before,
        tactics_after
    from techniques
    union all
    select
        from_version,
        to_version,
        object_type,
        change_kind,
        stix_id,
        external_id,
        new_external_id,
        name_before,
        name_after,
        null,
        split_into
    from tactics
)

select
    {{ stable_id(['from_version', 'to_version', 'object_type', 'change_kind', 'stix_id']) }} as id,
    from_version::varchar(20) as from_version,
    to_version::varchar(20) as to_version,
    object_type::varchar(20) as object_type,
    change_kind::varchar(20) as change_kind,
    external_id::varchar(20) as external_id,
    new_external_id::varchar(20) as new_external_id,
    name_before,
    name_after,
    tactics_before,
    tactics_after,
    stix_id
from unioned
