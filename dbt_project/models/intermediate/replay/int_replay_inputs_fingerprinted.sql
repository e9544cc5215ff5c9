-- One row: fingerprints of what the replay marts read besides detection versions, their mappings and which pattern
-- each configuration carries (macros/detection_scope.sql). A scenario loaded, reloaded (a new load_seq) or removed
-- changes which records every pattern matches; the active ATT&CK version changes which techniques a scenario can
-- confirm; a new replay version re-registers every configuration. Each means one full pass. Every other change to
-- the matches comes with a configuration replayed for the first time (raw.replay_contents.replayed_at), which is
-- a new detection version.
select
    (
        select md5(coalesce(string_agg(s.scenario_key || '@' || s.load_seq, E'\n' order by s.scenario_key), ''))
        from {{ ref('stg_replay__scenarios') }} as s
    ) as scenarios,
    (
        select
            md5(coalesce(string_agg(
                st.scenario_key || '@' || st.technique_id, E'\n' order by st.scenario_key, st.technique_id
            ), ''))
        from {{ ref('replay_scenario_techniques') }} as st
    ) as scenario_techniques,
    (
        select string_agg(distinct c.replay_version, ',' order by c.replay_version)
        from {{ ref('stg_replay__contents') }} as c
    ) as replay_versions
