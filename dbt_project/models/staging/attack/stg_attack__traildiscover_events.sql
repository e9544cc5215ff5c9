{# TrailDiscover events (CloudTrail event -> ATT&CK techniques, usedInWild, published incidents), one row per
   event file, with the file's path and sha256 and the folder's licence as provenance. Technique entries read
   'T1562.008 - Impair Defenses: ...' (a few write ':' or no separator): the id is the leading T-number.
   unverifiedMitreAttackTechniques (the author's guesses, with a reason) are not read. #}
with

documents as (
    select * from {{ source('attack', 'knowledge_documents') }}
    where knowledge_source = 'traildiscover'
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
        documents.metadata ->> 'licence' as licence,
        documents.metadata ->> 'upstream' as upstream,
        coalesce(documents.metadata ->> 'provider', 'aws') as provider,
        source.payload ->> 'eventName' as event_name,
        source.payload ->> 'eventSource' as event_source,
        source.payload ->> 'awsService' as aws_service,
        (source.payload ->> 'usedInWild')::boolean as used_in_wild,
        array(
            select distinct substring(t.entry from '^\s*(T[0-9]{4}(?:\.[0-9]{3})?)')
            from
                jsonb_array_elements_text(
                    coalesce(source.payload -> 'mitreAttackTechniques', '[]'::jsonb)
                    || coalesce(source.payload -> 'mitreAttackSubTechniques', '[]'::jsonb)
                ) as t (entry)
            where substring(t.entry from '^\s*(T[0-9]{4}(?:\.[0-9]{3})?)') is not null
            order by 1
        ) as technique_ids,
        coalesce(source.payload -> 'incidents', '[]'::jsonb) as incidents,
        jsonb_array_length(coalesce(source.payload -> 'incidents', '[]'::jsonb)) as incident_count
    from source
    inner join documents on source.source_file = documents.source_file
)

select * from renamed
