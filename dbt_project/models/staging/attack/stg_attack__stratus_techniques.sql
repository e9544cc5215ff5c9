{# Stratus Red Team (Apache 2.0) AWS attack techniques, one row per technique page: its ATT&CK tactics, its
   Threat Technique Catalog for AWS ids, and the distinct CloudTrail events its detonation log holds, with the
   page's and the log's path and sha256, the licence and the upstream commit as provenance. Catalog ids that
   refine an ATT&CK technique for AWS (T1485.A003, T1078.A001) are cut to that technique; ATT&CK ids
   (T1562.008) are kept. About half the techniques name no catalog id: they speak for tactics only. #}
with

documents as (
    select * from {{ source('attack', 'knowledge_documents') }}
    where knowledge_source = 'stratus_red_team'
),

source as (
    select * from {{ source('attack', 'knowledge_objects') }}
),

renamed as (
    select
        source.source_file,
        source.ordinal,
        documents.metadata -> 'files' -> source.ordinal ->> 'path' as file_path,
        documents.metadata -> 'files' -> source.ordinal ->> 'sha256' as file_sha256,
        documents.metadata -> 'files' -> source.ordinal ->> 'detonation_log' as detonation_log,
        documents.metadata -> 'files' -> source.ordinal ->> 'detonation_sha256' as detonation_sha256,
        documents.metadata ->> 'licence' as licence,
        documents.metadata ->> 'upstream' as upstream,
        coalesce(documents.metadata ->> 'provider', 'aws') as provider,
        source.payload ->> 'id' as stratus_id,
        source.payload ->> 'title' as title,
        array(
            select jsonb_array_elements_text(coalesce(source.payload -> 'tactics', '[]'::jsonb))
        ) as tactics,
        array(
            select jsonb_array_elements_text(coalesce(source.payload -> 'catalog_ids', '[]'::jsonb))
        ) as catalog_ids,
        array(
            select distinct substring(c.catalog_id from '^(T[0-9]{4}(?:\.[0-9]{3})?)(?:\.A[0-9]{3})?$')
            from jsonb_array_elements_text(coalesce(source.payload -> 'catalog_ids', '[]'::jsonb)) as c (catalog_id)
            where substring(c.catalog_id from '^(T[0-9]{4}(?:\.[0-9]{3})?)(?:\.A[0-9]{3})?$') is not null
            order by 1
        ) as technique_ids,
        coalesce(source.payload -> 'events', '[]'::jsonb) as events
    from source
    inner join documents on source.source_file = documents.source_file
)

select * from renamed
