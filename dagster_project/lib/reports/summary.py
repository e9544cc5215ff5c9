"""The short coverage summary `make demo` ends with, read from the marts (what BI sees)."""

from __future__ import annotations

import psycopg

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
where cs.calculated_at = (select max(calculated_at) from marts.coverage_scores)
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

HEALTH = """
select
    sum(healthy_detections), sum(degraded_detections), sum(broken_detections), sum(unknown_detections)
from marts.v_detection_health_summary
"""


def render(url: str, layers_dir: str | None = None) -> str:
    with psycopg.connect(url) as conn:
        accounts, enabled, current, mappings, version = conn.execute(TOTALS).fetchone()
        tactics = conn.execute(PER_TACTIC).fetchall()
        gaps = conn.execute(TOP_GAPS).fetchall()
        healthy, degraded, broken, unknown = conn.execute(HEALTH).fetchone()
    lines = [
        "",
        f"Coverage summary (ATT&CK {version})",
        f"  accounts: {accounts}   detections: {current} ({enabled} enabled)   mappings: {mappings}",
        f"  health: {healthy} healthy, {degraded} degraded, {broken} broken, {unknown} unknown",
        "",
        f"  {'tactic':<24} {'avg coverage':>12} {'covered (best account)':>24}",
    ]
    lines += [f"  {name:<24} {pct:>11}% {best:>13} of {total:<8}" for name, pct, best, total in tactics]
    lines += ["", f"  top gaps by risk:  {'risk':>6} {'severity':<8} {'technique':<10} {'name':<40} accounts"]
    lines += [f"  {'':<18} {risk:>6} {severity:<8} {tid:<10} {tname[:40]:<40} {accounts:>8}"
              for tid, tname, severity, risk, accounts in gaps]
    if layers_dir:
        lines += ["", f"  ATT&CK Navigator layers: {layers_dir}"]
    return "\n".join(lines) + "\n"
