{{ config(indexes=[{'columns': ['scenario_key', 'ordinal'], 'unique': true}]) }}

-- Each scenario record, with the fields a reader looks for first; detection_replay_results names records by
-- (scenario_key, ordinal).
select
    scenario_key::varchar(300) as scenario_key,
    ordinal,
    event_source::varchar(200) as event_source,
    event_name::varchar(200) as event_name,
    (record ->> 'eventTime')::varchar(40) as event_time,
    (record ->> 'errorCode')::varchar(200) as error_code,
    (record -> 'userIdentity' ->> 'arn')::varchar(500) as user_identity_arn,
    source_file,
    record
from {{ ref('stg_replay__scenario_records') }}
