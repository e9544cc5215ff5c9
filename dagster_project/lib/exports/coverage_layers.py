"""Navigator layers from the coverage marts: one per account and one for the organization."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg

from dagster_project.lib.exports.navigator import TechniqueScore, build_layer

ACCOUNT_ROWS = """
with latest as (
    select account_id, max(timestamp) as day from marts.coverage_history group by account_id
),
evidence as (
    select d.account_id, m.technique_id, array_agg(distinct d.name) as names,
        (array_agg(m.rationale order by m.confidence_score desc))[1] as rationale
    from marts.detection_mappings as m
    inner join marts.detections as d on m.detection_id = d.id
    where d.is_current and d.status = 'enabled' and m.validation_status <> 'disputed'
    group by d.account_id, m.technique_id
)
select a.account_identifier, a.account_name, h.attack_technique_id, h.coverage_score, h.is_covered,
    e.names, e.rationale
from marts.coverage_history as h
inner join latest on h.account_id = latest.account_id and h.timestamp = latest.day
inner join marts.accounts as a on h.account_id = a.id
left join evidence as e on h.account_id = e.account_id and h.technique_id = e.technique_id
order by a.account_identifier, h.attack_technique_id
"""

ATTACK_VERSION = "select version from marts.mitre_versions where is_active"


def _comment(covered: bool, score: float, rationale: str | None) -> str:
    if rationale:
        return rationale
    if covered:
        return "covered through all of its sub-techniques"
    return f"not covered ({round(score * 100)}% of sub-techniques)" if score else "not covered"


def write_layers(url: str, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(url) as conn:
        version = (conn.execute(ATTACK_VERSION).fetchone() or ["18.1"])[0]
        rows = conn.execute(ACCOUNT_ROWS).fetchall()
    by_account: dict[tuple[str, str], list[TechniqueScore]] = {}
    org: dict[str, list[float]] = {}
    for account, name, technique, score, covered, names, rationale in rows:
        score = float(score)
        by_account.setdefault((account, name), []).append(
            TechniqueScore(technique, 100 * score, _comment(covered, score, rationale), tuple(names or ())))
        org.setdefault(technique, []).append(1.0 if covered else 0.0)
    written = []
    for (account, name), scores in by_account.items():
        layer = build_layer(f"{name} coverage", f"ATT&CK coverage of account {account}", version, scores)
        path = out_dir / f"account-{re.sub(r'[^0-9A-Za-z_-]', '_', account)}.json"
        path.write_text(json.dumps(layer, indent=1))
        written.append(path)
    accounts = len(by_account)
    org_scores = [TechniqueScore(t, 100 * sum(v) / len(v), f"covered in {int(sum(v))} of {accounts} accounts")
                  for t, v in sorted(org.items())]
    layer = build_layer("organization coverage", f"share of {accounts} accounts covering each technique",
                        version, org_scores)
    path = out_dir / "organization.json"
    path.write_text(json.dumps(layer, indent=1))
    return [*written, path]
