"""The short coverage summary `make demo`, `make run` and `dcv summary` print, read from the marts (what BI sees).

Per account and per tactic it is the day asked for (default: the latest scan day); totals of mappings, gaps and
health are the current picture, and say so when the day is not the latest."""

from __future__ import annotations

from datetime import date

import psycopg

from dagster_project.lib import settings

TOTALS = """
select
    (select count(*) from marts.accounts) as accounts,
    (select count(*) from marts.detections where status = 'enabled') as enabled_detections,
    (select count(*) from marts.detections where status <> 'deprecated') as current_detections,
    (select count(*) from marts.detection_mappings) as mappings,
    (select version from marts.mitre_versions where is_active) as attack_version
"""

PER_TACTIC = """
select
    t.name,
    round(avg(cs.coverage_percentage), 1) as avg_pct,
    max(cs.covered_techniques) as best_covered,
    max(cs.total_techniques) as total
from marts.coverage_scores as cs
inner join marts.mitre_tactics as t on cs.tactic_id = t.id
where cs.calculated_at = %(day)s::timestamp
group by t.name, t.display_order
order by t.display_order
"""

TOP_GAPS = """
select g.technique_id, g.technique_name, (array_agg(g.severity order by g.risk_score desc))[1],
    max(g.risk_score) as risk, count(*) as accounts
from marts.v_coverage_gaps_current as g
group by g.technique_id, g.technique_name
order by risk desc nulls last, accounts desc, g.technique_id
limit 10
"""

GAPS = """
select count(*), count(*) filter (where severity = 'critical'), count(*) filter (where severity = 'high'),
    count(distinct technique_id)
from marts.v_coverage_gaps_current
"""

LATEST_DAY = "select max(scan_day) from marts.scan_snapshots"

# the accounts scanned on the day: detections that day, techniques covered and average tactic coverage
ACCOUNTS_ON_DAY = """
select p.name as provider, a.account_identifier, a.account_name,
    (select sum(s.total_detections) from marts.scan_snapshots as s
     where s.account_id = a.id and s.scan_day = %(day)s) as detections,
    (select count(*) from marts.coverage_history as h
     where h.account_id = a.id and h.timestamp = %(day)s::timestamp and h.is_covered) as covered,
    (select round(avg(cs.coverage_percentage), 1) from marts.coverage_scores as cs
     where cs.account_id = a.id and cs.calculated_at = %(day)s::timestamp) as avg_pct
from marts.accounts as a
inner join marts.cloud_providers as p on a.provider_id = p.id
where exists (select from marts.scan_snapshots as s where s.account_id = a.id and s.scan_day = %(day)s)
order by p.id, a.account_identifier
"""

# per provider on the day: accounts, techniques covered in at least one of them, open gaps and broken detections
# now
PER_PROVIDER = """
select p.name,
    count(distinct a.id) as accounts,
    (select count(distinct h.technique_id) from marts.coverage_history as h
     inner join marts.accounts as a2 on h.account_id = a2.id
     where a2.provider_id = p.id and h.timestamp = %(day)s::timestamp and h.is_covered) as covered,
    (select count(*) from marts.v_coverage_gaps_current as g
     inner join marts.accounts as a2 on g.account_id = a2.id where a2.provider_id = p.id) as open_gaps,
    (select count(*) from marts.detection_health_findings as f
     inner join marts.accounts as a2 on f.account_id = a2.id
     where a2.provider_id = p.id and f.status = 'broken') as broken
from marts.cloud_providers as p
inner join marts.accounts as a on a.provider_id = p.id
where exists (select from marts.scan_snapshots as s where s.account_id = a.id and s.scan_day = %(day)s)
group by p.id, p.name
order by p.id
"""

HEALTH = """
select
    sum(healthy_detections), sum(degraded_detections), sum(broken_detections), sum(unknown_detections)
from marts.v_detection_health_summary
"""


# replay (docs/replay.md): claimed coverage beside what a detection that alerts today fires on, per account
REPLAY_PER_ACCOUNT = """
select a.account_identifier, a.account_name,
    count(*) filter (where r.claimed_covered) as claimed,
    count(*) filter (where r.replay_status = 'confirmed') as confirmed,
    count(*) filter (where r.replay_status = 'not_confirmed') as not_confirmed,
    count(*) filter (where r.replay_status = 'claimed_no_scenario') as no_scenario,
    count(*) filter (where r.replay_status = 'fires_unclaimed') as unclaimed
from marts.replay_technique_coverage as r
inner join marts.accounts as a on r.account_id = a.id
group by a.account_identifier, a.account_name
order by a.account_identifier
"""

REPLAY_SCENARIOS = """
select count(*), count(*) filter (where cardinality(technique_ids) > 0), coalesce(sum(record_count), 0),
    (select count(*) from raw.quarantine where source = 'replay_scenarios')
from marts.replay_scenarios
"""

# a claim replay does not back: a mapping coverage counts (at the threshold), of a detection that alerts (current,
# enabled, not broken), whose technique has scenarios and which fires on none of them; strongest claims first
NEVER_FIRE = """
select d.name, v.attack_technique_id, dm.confidence_score, v.replay_note, count(*) as accounts,
    (select string_agg(e, ', ' order by e) filter (where n <= 6) || case when count(*) > 6 then ', ...' else '' end
     from (select e, row_number() over (order by e) as n from (
        select distinct split_part(unnest(s.event_names), ':', 2) as e
        from marts.replay_scenario_techniques as st
        inner join marts.replay_scenarios as s on st.scenario_key = s.scenario_key
        where st.technique_id = v.technique_id) as distinct_events) as events) as scenario_events
from marts.detection_mapping_validations as v
inner join marts.detection_mappings as dm on v.mapping_id = dm.id
inner join marts.detections as d on v.detection_id = d.id
where v.validation_status = 'not_confirmed' and dm.confidence_score >= %(threshold)s
    and d.is_current and d.status = 'enabled'
    and not exists (
        select from marts.detection_health_findings as broken
        where broken.detection_id = d.id and broken.status = 'broken')
group by d.name, v.technique_id, v.attack_technique_id, dm.confidence_score, v.replay_note
order by dm.confidence_score desc, accounts desc, d.name, v.attack_technique_id
limit 3
"""

# input rejected for the day (docs/reliability.md): export, rule and listing files by their partition; ATT&CK
# bundles and knowledge files, which belong to no day, when they were rejected; replay's files have their own line
QUARANTINED = """
select source, count(*) from raw.quarantine
where partition_date = %(day)s
    or (partition_date is null and source <> 'replay_scenarios'
        and quarantined_at >= %(day)s::date and quarantined_at < %(day)s::date + 1)
group by source
order by source
"""


def quarantine_lines(conn: psycopg.Connection, day: date) -> list[str]:
    """One line naming what the day rejected, per source, and where to read why; nothing when nothing was."""
    rows = conn.execute(QUARANTINED, {"day": day}).fetchall()
    if not rows:
        return []
    counts = ", ".join(f"{source} {count}" for source, count in rows)
    return [f"  rejected input: {counts}; each with its reason in raw.quarantine:",
            "    select source, object_ref, reason from raw.quarantine order by quarantined_at desc"]


# the two incidents with the most steps, and per account which steps its detections would have caught
INCIDENTS = """
with top as (
    select incident_link, min(incident_name) as incident_name, count(distinct scenario_key) as steps
    from marts.replay_incident_steps
    group by incident_link
    order by steps desc, incident_link
    limit 2
)
select top.incident_name, top.incident_link, top.steps, a.account_identifier,
    count(*) filter (where s.caught) as caught,
    string_agg(split_part(s.scenario_key, '/', 3), ', ' order by s.scenario_key) filter (where s.caught)
from top
inner join marts.replay_incident_steps as s on top.incident_link = s.incident_link
inner join marts.accounts as a on s.account_id = a.id
group by top.incident_name, top.incident_link, top.steps, a.account_identifier
order by top.steps desc, top.incident_link, a.account_identifier
"""


def replay_lines(conn: psycopg.Connection) -> list[str]:
    """Claimed vs replay-confirmed coverage per account, three mappings that never fire, and the incident lens
    for two incidents; nothing when the warehouse has no replay marts yet."""
    if conn.execute("select to_regclass('marts.replay_technique_coverage')").fetchone()[0] is None:
        return []
    scenarios, with_technique, records, quarantined = conn.execute(REPLAY_SCENARIOS).fetchone()
    lines = ["", f"  replay: {scenarios} scenarios ({with_technique} with an ATT&CK technique), {records} CloudTrail "
                 f"records, {quarantined} files or records quarantined",
             f"  {'account':<38} {'name':<28} {'claimed':>8} {'confirmed':>10} {'not confirmed':>14} "
             f"{'no scenario':>12} {'fires, unclaimed':>17}"]
    lines += [f"  {ident:<38} {(name or '')[:28]:<28} {claimed:>8} {confirmed:>10} {not_confirmed:>14} "
              f"{no_scenario:>12} {unclaimed:>17}"
              for ident, name, claimed, confirmed, not_confirmed, no_scenario, unclaimed
              in conn.execute(REPLAY_PER_ACCOUNT).fetchall()]
    never = conn.execute(NEVER_FIRE, {"threshold": settings.coverage_min_confidence()}).fetchall()
    if never:
        lines += ["", "  claimed, alerting, and never firing on the technique's scenarios:"]
        lines += [f"    {name} -> {tid} (confidence {conf}, {accounts} account{'' if accounts == 1 else 's'}): {note}; "
                  f"they hold {events}" for name, tid, conf, note, accounts, events in never]
    shown = None
    for name, link, steps, account, caught, which in conn.execute(INCIDENTS).fetchall():
        if link != shown:
            lines += ["", f"  incident: {name[:80]} ({steps} steps)", f"    {link}"]
            shown = link
        lines.append(f"    {account:<38} caught {caught} of {steps}: {which or '-'}")
    return lines


def render(url: str, layers_dir: str | None = None, day: date | None = None) -> str:
    """The summary of `day` (default: the latest scan day in marts.scan_snapshots)."""
    with psycopg.connect(url) as conn:
        latest = conn.execute(LATEST_DAY).fetchone()[0]
        day = day or latest
        on_day = {"day": day}
        per_account = conn.execute(ACCOUNTS_ON_DAY, on_day).fetchall()
        per_provider = conn.execute(PER_PROVIDER, on_day).fetchall()
        accounts, enabled, current, mappings, version = conn.execute(TOTALS).fetchone()
        tactics = conn.execute(PER_TACTIC, on_day).fetchall()
        gaps = conn.execute(TOP_GAPS).fetchall()
        open_gaps, critical, high, gap_techniques = conn.execute(GAPS).fetchone()
        healthy, degraded, broken, unknown = conn.execute(HEALTH).fetchone()
        replay = replay_lines(conn)
        rejected = quarantine_lines(conn, day)
    now = "" if day == latest else f"now (latest day loaded, {latest}): "
    lines = [
        "",
        f"Coverage summary for {day} (ATT&CK {version})",
        f"  {now}accounts: {accounts}   detections: {current} ({enabled} enabled)   mappings: {mappings}",
        f"  health: {healthy} healthy, {degraded} degraded, {broken} broken, {unknown} unknown",
        *rejected,
        "",
    ]
    if len(per_provider) > 1:
        lines += [f"  {'provider':<8} {'accounts':>8} {'techniques covered (in any account)':>36} "
                  f"{'open gaps':>10} {'broken detections':>18}"]
        lines += [f"  {name:<8} {accounts:>8} {covered:>36} {gaps:>10} {broken:>18}"
                  for name, accounts, covered, gaps, broken in per_provider]
        lines += [""]
    lines += [f"  {'provider':<8} {'account':<38} {'name':<28} {'detections':>10} {'techniques covered':>18} "
              f"{'avg tactic coverage':>20}"]
    lines += [f"  {provider:<8} {ident:<38} {(name or '')[:28]:<28} {detections or 0:>10} {covered:>18} "
              f"{avg if avg is not None else '-':>19}%"
              for provider, ident, name, detections, covered, avg in per_account]
    lines += ["", f"  {'tactic':<24} {'avg coverage':>12} {'covered (best account)':>24}"]
    lines += [f"  {name:<24} {pct:>11}% {best:>13} of {total:<8}" for name, pct, best, total in tactics]
    lines += ["", f"  open gaps: {open_gaps} (account x technique; {critical} critical, {high} high) "
                  f"over {gap_techniques} techniques"]
    lines += [f"  top gaps by risk:  {'risk':>6} {'severity':<8} {'technique':<10} {'name':<40} accounts"]
    lines += [f"  {'':<18} {risk:>6} {severity:<8} {tid:<10} {tname[:40]:<40} {accounts:>8}"
              for tid, tname, severity, risk, accounts in gaps]
    lines += replay
    if layers_dir:
        lines += ["", f"  ATT&CK Navigator layers: {layers_dir}"]
    return "\n".join(lines) + "\n"
