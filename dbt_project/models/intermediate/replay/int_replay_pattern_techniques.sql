{{ config(materialized='ephemeral') }}

select
    m.pattern_id,
    st.technique_id,
    array_agg(m.scenario_key order by m.scenario_key) as firing_scenarios
from {{ ref('stg_replay__pattern_matches') }} as m
inner join {{ ref('replay_scenario_techniques') }} as st on m.scenario_key = st.scenario_key
group by m.pattern_id, st.technique_id
