{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='partition_date',
    on_schema_change='fail',
    tags=['partitioned'],
    indexes=[{'columns': ['partition_date', 'provider']}],
) }}

-- Accounts listed per provider per scan day; one daily partition replaces exactly its own day.
select
    partition_date,
    provider,
    count(*) as accounts_listed,
    count(*) filter (where account_status = 'active') as accounts_active
from {{ ref('stg_raw__org_accounts') }}
where {{ partition_filter('partition_date') }}
group by partition_date, provider
