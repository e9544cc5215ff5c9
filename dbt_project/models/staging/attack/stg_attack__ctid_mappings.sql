{# CTID Mappings Explorer objects: capability -> technique with a protect/detect/respond score. #}
with

documents as (
    select * from {{ source('attack', 'knowledge_documents') }}
    where knowledge_source = 'ctid_mappings_explorer'
),

source as (
    select * from {{ source('attack', 'knowledge_objects') }}
),

renamed as (
    select
        source.source_file,
        source.ordinal,
        documents.metadata ->> 'attack_version' as attack_version,
        documents.metadata ->> 'mapping_framework' as provider,
        source.payload ->> 'capability_id' as capability_id,
        source.payload ->> 'capability_group' as capability_group,
        source.payload ->> 'mapping_type' as mapping_type,
        source.payload ->> 'attack_object_id' as technique_id,
        source.payload ->> 'score_category' as score_category,
        source.payload ->> 'score_value' as score_value,
        source.payload ->> 'comments' as comments,
        source.payload ->> 'status' as mapping_status
    from source
    inner join documents on source.source_file = documents.source_file
)

select * from renamed
