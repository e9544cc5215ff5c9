-- One row: a fingerprint of the scenarios detection_replay_results was built against (macros/detection_scope.sql).
-- A scenario loaded, reloaded (a new load_seq) or removed changes which records every pattern matches, so the mart
-- makes one full pass. Every other change to the matches comes with a configuration replayed again
-- (raw.replay_contents.replayed_at: a new pattern, or a new replay version re-registering every configuration),
-- which the mart's scope already reads.
select md5(coalesce(string_agg(s.scenario_key || '@' || s.load_seq, E'\n' order by s.scenario_key), '')) as scenarios
from {{ ref('stg_replay__scenarios') }} as s
