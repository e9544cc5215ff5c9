{{ config(materialized='ephemeral') }}

-- The days on which each account itself was scanned (live or export; rule repositories are not accounts):
-- the days coverage is computed for.
select distinct
    scans.partition_date as day,
    accounts.id as account_id,
    accounts.provider_id
from {{ ref('stg_detections__scans') }} as scans
inner join {{ ref('accounts') }} as accounts on scans.account_identifier = accounts.account_identifier
where scans.collection_source in ('aws', 'export')
