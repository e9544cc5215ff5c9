"""Navigator layers from the coverage marts (docs/coverage-semantics.md "Navigator layers"): one per account, one
for the organization, and the organization's open gaps by risk.

Read from the marts only, so the layers follow whatever the marts call in scope and covered: the in-scope
techniques of an account are its techniques covered on its latest scan day (`coverage_history`) plus its
techniques not covered now (`coverage_gaps` without `resolved_at`). Scores are the marts' scores: a technique
in scope and not covered scores 0, a partly covered parent its share of covered sub-techniques. Evidence is the
detections that count (docs/coverage-semantics.md "Which detections count"), by display name.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from dagster_project.lib import settings
from dagster_project.lib.exports.navigator import MAX_METADATA_DETECTIONS, TechniqueScore, build_layer

MAX_LISTED = 10  # accounts or sub-techniques named in a comment / metadata before "and N more"

# risk 0..100 (coverage_gaps.risk_score), severities at 20 / 45 / 70 (docs/coverage-semantics.md "Gaps")
RISK_GRADIENT = {"colors": ["#fff7bcff", "#fec44fff", "#f46d43ff", "#a50026ff"], "minValue": 0, "maxValue": 100}
RISK_LEGEND = (
    {"label": "low risk (< 20)", "color": "#fff7bcff"},
    {"label": "medium risk (20-45)", "color": "#fec44fff"},
    {"label": "high risk (45-70)", "color": "#f46d43ff"},
    {"label": "critical risk (>= 70)", "color": "#a50026ff"},
)
OPEN_STATUSES = ("open", "acknowledged")  # gaps still to act on; accepted_risk is a person's decision

LATEST = """
    select account_id, max(calculated_at) as day from marts.coverage_scores group by account_id
"""

CELLS = f"""
with latest as ({LATEST}),
history as (
    select h.account_id, h.attack_technique_id, h.is_covered, h.coverage_score
    from marts.coverage_history as h
    inner join latest on h.account_id = latest.account_id and h.timestamp = latest.day
),
gaps as (
    select account_id, attack_technique_id, coverage_score, risk_score, severity, status
    from marts.coverage_gaps
    where resolved_at is null
)
select a.account_identifier, coalesce(h.attack_technique_id, g.attack_technique_id),
    coalesce(h.is_covered and g.account_id is null, false), coalesce(g.coverage_score, h.coverage_score, 0),
    g.risk_score, g.severity, g.status
from history as h
full join gaps as g on h.account_id = g.account_id and h.attack_technique_id = g.attack_technique_id
inner join marts.accounts as a on coalesce(h.account_id, g.account_id) = a.id
where h.is_covered or g.account_id is not null
"""

ACCOUNTS = f"""
with latest as ({LATEST})
select a.account_identifier, coalesce(a.account_name, a.account_identifier)
from marts.accounts as a
inner join latest on a.id = latest.account_id
order by a.account_identifier
"""

# The rule of macros/counts_toward_coverage.sql on the live versions: enabled, not broken, mapping not disputed
# and validated or at least coverage_min_confidence (rejected mappings are not in detection_mappings at all).
# Aggregated here, one row per account x technique, strongest first. A GuardDuty detector is named by where it
# runs (its name in the marts is its hex detector id).
EVIDENCE = f"""
with counting as (
    select d.account_identifier, m.attack_technique_id, d.id, m.confidence_score, m.rationale,
        case
            when t.type_name = 'guardduty_detector'
                then 'guardduty ' || d.account_identifier || '/' || coalesce(d.region, 'global')
            else coalesce(d.name, d.native_id)
        end as display_name
    from marts.detection_mappings as m
    inner join marts.detections as d on m.detection_id = d.id
    inner join marts.detection_types as t on d.detection_type_id = t.id
    where d.is_current and d.account_id is not null and d.status = 'enabled'
        and not exists (
            select from marts.detection_health_findings as broken
            where broken.detection_id = d.id and broken.status = 'broken'
        )
        and m.validation_status <> 'disputed'
        and (m.validation_status = 'validated' or m.confidence_score >= %(min_confidence)s)
)
select account_identifier, attack_technique_id,
    (array_agg(display_name order by confidence_score desc, display_name))[1:{MAX_METADATA_DETECTIONS * 2}],
    count(distinct id),
    (array_agg(rationale order by confidence_score desc, display_name))[1]
from counting
group by account_identifier, attack_technique_id
"""

PLATFORMS = """
select t.technique_id, t.platforms
from marts.mitre_techniques as t
inner join marts.mitre_versions as v on t.version_id = v.id and v.is_active
"""

ATTACK_VERSION = "select version from marts.mitre_versions where is_active"

PROVIDERS = """
select a.account_identifier, p.name
from marts.accounts as a
inner join marts.cloud_providers as p on a.provider_id = p.id
"""

# replay beside the claim (docs/replay.md): techniques with scenarios, or that an alerting detection fires on
REPLAY = """
select a.account_identifier, r.attack_technique_id, r.replay_status, r.claimed_covered, r.replay_confirmed,
    r.scenario_count, r.scenarios_fired, coalesce(r.firing_detection_names, '{}')
from marts.replay_technique_coverage as r
inner join marts.accounts as a on r.account_id = a.id
where r.scenario_count > 0 or r.replay_confirmed
"""


@dataclass(frozen=True)
class Cell:
    """One account x in-scope technique, now."""

    account: str  # account identifier
    technique: str  # T1078 / T1078.004
    covered: bool
    score: float  # 0..1, the marts' coverage_score (partial credit for a parent)
    risk: float | None = None  # the open gap's risk_score (None when covered)
    severity: str | None = None
    gap_status: str | None = None  # open / acknowledged / accepted_risk / ... (None when covered)


@dataclass(frozen=True)
class Evidence:
    """The detections that count towards a technique in an account."""

    account: str
    technique: str
    detections: tuple[str, ...]  # display names, strongest mapping first (the first ones when there are many)
    count: int  # how many detections count
    rationale: str | None = None  # the strongest mapping's


@dataclass(frozen=True)
class Replayed:
    """What replay says of a technique in an account (replay_technique_coverage)."""

    account: str
    technique: str
    status: str  # confirmed / not_confirmed / claimed_no_scenario / fires_unclaimed / not_covered
    claimed: bool
    confirmed: bool  # a detection that alerts today fires on a scenario of the technique
    scenarios: int
    scenarios_fired: int
    detections: tuple[str, ...] = ()  # those that fire, by name (the first few)


@dataclass
class Coverage:
    attack_version: str
    accounts: dict[str, str]  # identifier -> display name, the accounts with a scan day
    cells: list[Cell]
    evidence: list[Evidence]
    platforms: dict[str, tuple[str, ...]]  # technique -> ATT&CK platforms (for the layer's platform filter)
    providers: dict[str, str] = field(default_factory=dict)  # account identifier -> aws / gcp / azure
    replay: list[Replayed] = field(default_factory=list)


def read_coverage(url: str, min_confidence: float | None = None) -> Coverage:
    threshold = settings.coverage_min_confidence() if min_confidence is None else min_confidence
    with psycopg.connect(url) as conn:
        version = (conn.execute(ATTACK_VERSION).fetchone() or ["18.1"])[0]
        accounts = dict(conn.execute(ACCOUNTS).fetchall())
        cells = [Cell(account, technique, bool(covered), float(score),
                      None if risk is None else float(risk), severity, status)
                 for account, technique, covered, score, risk, severity, status in conn.execute(CELLS)]
        evidence = [Evidence(account, technique, tuple(dict.fromkeys(names)), count, rationale)
                    for account, technique, names, count, rationale
                    in conn.execute(EVIDENCE, {"min_confidence": threshold})]
        platforms = {technique: tuple(p or ()) for technique, p in conn.execute(PLATFORMS)}
        providers = dict(conn.execute(PROVIDERS).fetchall())
        replay = []
        if conn.execute("select to_regclass('marts.replay_technique_coverage')").fetchone()[0] is not None:
            replay = [Replayed(account, technique, status, claimed, confirmed, n, fired, tuple(names))
                      for account, technique, status, claimed, confirmed, n, fired, names in conn.execute(REPLAY)]
    return Coverage(version, accounts, cells, evidence, platforms, providers, replay)


def _label(names: dict[str, str], account: str) -> str:
    name = names.get(account)
    return f"{name} ({account})" if name and name != account else account


def _parent(technique: str) -> str | None:
    return technique.split(".", 1)[0] if "." in technique else None


def _listed(items: list[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _platform_filter(techniques: Iterable[str], platforms: dict[str, tuple[str, ...]]) -> list[str]:
    """Few platforms that between them show every in-scope technique (Navigator hides a technique none of whose
    platforms is in the filter): greedily, the platform showing the most techniques not yet shown first."""
    left = {t: set(platforms.get(t, ())) for t in techniques}
    left = {t: p for t, p in left.items() if p}
    chosen: list[str] = []
    while left:
        counts: dict[str, int] = defaultdict(int)
        for found in left.values():
            for platform in found:
                counts[platform] += 1
        best = min(counts, key=lambda p: (-counts[p], p))
        chosen.append(best)
        left = {t: p for t, p in left.items() if best not in p}
    return chosen or ["IaaS"]


def _subtechniques(cells: Iterable[Cell]) -> dict[str, list[Cell]]:
    subs: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        parent = _parent(cell.technique)
        if parent:
            subs[parent].append(cell)
    return subs


def _gap_comment(cell: Cell) -> str:
    state = f"open gap, risk {cell.risk:g} ({cell.severity})" if cell.risk is not None else "gap"
    if cell.gap_status and cell.gap_status != "open":
        state += f", triaged {cell.gap_status}"
    return state


def _replay_comment(seen: Replayed) -> str:
    if seen.status == "confirmed":
        return (f"replay: confirmed, fires on {seen.scenarios_fired} of its {seen.scenarios} scenarios "
                f"({', '.join(seen.detections[:3])})")
    if seen.status == "not_confirmed":
        return f"replay: not confirmed, no detection that alerts fires on its {seen.scenarios} scenarios"
    if seen.confirmed:
        return (f"replay: fires on {seen.scenarios_fired} of its {seen.scenarios} scenarios "
                f"({', '.join(seen.detections[:3])}) although no counting detection is mapped to it")
    return f"replay: {seen.scenarios} scenarios, none caught"


def account_layer(account: str, account_name: str, cells: list[Cell], evidence: list[Evidence],
                  coverage: Coverage) -> dict:
    """Every in-scope technique of the account: 100 covered, the parent's share of covered sub-techniques when
    partly covered, 0 not covered; the counting detections as evidence, and what replay says beside it."""
    by_technique = {found.technique: found for found in evidence}
    replayed = {r.technique: r for r in coverage.replay if r.account == account}
    subs = _subtechniques(cells)
    in_scope = {cell.technique for cell in cells}
    scores = []
    for cell in sorted(cells, key=lambda c: c.technique):
        found = by_technique.get(cell.technique)
        names = found.detections if found else ()
        children = subs.get(cell.technique, [])
        covered_children = sorted(c.technique for c in children if c.covered)
        names = names[:MAX_METADATA_DETECTIONS]
        extra: tuple[tuple[str, str], ...] = tuple(("covered sub-technique", t) for t in covered_children)
        if found and found.count > len(names) and (cell.covered or cell.score > 0):
            extra = (("more", f"{found.count - len(names)} more detections"), *extra)
        if cell.covered and found and names:
            comment = (f"covered by {found.count} detection{'' if found.count == 1 else 's'}: "
                       + ", ".join(names[:3]) + (", ..." if len(names) > 3 else ""))
            if found.rationale:
                comment += f" ({found.rationale})"
        elif cell.covered and children and len(covered_children) == len(children):
            comment = f"covered through all {len(children)} of its in-scope sub-techniques"
        elif cell.covered:
            comment = "covered"
        elif cell.score > 0:
            comment = (f"partly covered: {len(covered_children)} of {len(children)} in-scope sub-techniques "
                       f"({_listed(covered_children)}), not the technique itself; {_gap_comment(cell)}")
        else:
            comment = f"not covered: {_gap_comment(cell)}"
        seen = replayed.get(cell.technique)
        if seen:
            comment += f"; {_replay_comment(seen)}"
            extra = (*extra, ("replay", seen.status))
        scored_child = any(c.score > 0 for c in children)
        scores.append(TechniqueScore(cell.technique, 100 * cell.score, comment,
                                     names if cell.covered or cell.score > 0 else (),
                                     show_subtechniques=scored_child or (cell.score > 0 and "." in cell.technique),
                                     metadata=extra))
    scores += _unscoped_parents(subs, in_scope, lambda children: any(c.score > 0 for c in children))
    return build_layer(f"{account_name} coverage",
                       f"ATT&CK coverage of account {account} on its latest scan day: in-scope techniques only, "
                       "0 = in scope and not covered, a parent's partial score = its share of covered "
                       "sub-techniques (a parent is covered only by itself or by all of them)",
                       coverage.attack_version, scores, platforms=_platform_filter(in_scope, coverage.platforms))


def _unscoped_parents(subs: dict[str, list], in_scope: set[str], scored) -> list[TechniqueScore]:
    """A parent out of scope whose sub-techniques are in scope: annotated (no score), so its sub-techniques
    open in Navigator."""
    return [TechniqueScore(parent, None, "not in scope itself; shown for its in-scope sub-techniques",
                           show_subtechniques=bool(scored(children)))
            for parent, children in sorted(subs.items()) if parent not in in_scope]


def organization_layer(coverage: Coverage) -> dict:
    """Per technique: the share of the accounts it is in scope for where it is covered."""
    names = coverage.accounts
    per_technique: dict[str, list[Cell]] = defaultdict(list)
    for cell in coverage.cells:
        per_technique[cell.technique].append(cell)
    subs = _subtechniques(coverage.cells)
    sub_ids: dict[str, set[str]] = {parent: {c.technique for c in children} for parent, children in subs.items()}
    scores = []
    for technique, cells in sorted(per_technique.items()):
        covered = sorted(c.account for c in cells if c.covered)
        partial = sorted(c.account for c in cells if not c.covered and c.score > 0)
        comment = f"covered in {len(covered)} of {len(cells)} accounts"
        if partial:
            covered_subs = sorted({c.technique for c in subs.get(technique, []) if c.covered})
            comment += (f"; partly covered (some sub-techniques, not the technique itself) in {len(partial)}"
                        + (f"; covered sub-techniques: {_listed(covered_subs)}" if covered_subs else ""))
        extra = tuple(("covered in", _label(names, a)) for a in covered[:MAX_LISTED])
        if len(covered) > MAX_LISTED:
            extra += (("covered in", f"{len(covered) - MAX_LISTED} more accounts"),)
        scored_child = any(c.covered or c.score > 0 for c in subs.get(technique, []))
        scores.append(TechniqueScore(technique, 100 * len(covered) / len(cells), comment,
                                     show_subtechniques=scored_child or (bool(covered) and "." in technique),
                                     metadata=extra))
    scores += _unscoped_parents(sub_ids, set(per_technique), lambda children: True)
    accounts = len(names)
    return build_layer("organization coverage",
                       f"share of the accounts each technique is in scope for ({accounts} accounts) where it is "
                       "covered on their latest scan day; 0 = in scope and covered nowhere",
                       coverage.attack_version, scores,
                       platforms=_platform_filter(per_technique, coverage.platforms))


def replay_layer(coverage: Coverage) -> dict:
    """Per technique with replay scenarios: the share of the accounts it is in scope for where a detection that
    alerts fires on one of them (replay-confirmed), beside how many claim it covered (organization.json)."""
    names = coverage.accounts
    in_scope: dict[str, int] = defaultdict(int)
    for cell in coverage.cells:
        in_scope[cell.technique] += 1
    per_technique: dict[str, list[Replayed]] = defaultdict(list)
    for seen in coverage.replay:
        if seen.technique in in_scope and seen.scenarios:
            per_technique[seen.technique].append(seen)
    scores = []
    for technique, seen in sorted(per_technique.items()):
        confirmed = sorted(r.account for r in seen if r.confirmed)
        claimed = sum(r.claimed for r in seen)
        unconfirmed = sorted(r.account for r in seen if r.status == "not_confirmed")
        comment = (f"replay-confirmed in {len(confirmed)} of {in_scope[technique]} accounts, claimed covered in "
                   f"{claimed}; {seen[0].scenarios} scenarios")
        if unconfirmed:
            comment += f"; claimed but not confirmed in {_listed([names.get(a, a) for a in unconfirmed], 3)}"
        extra = tuple(("confirmed in", _label(names, a)) for a in confirmed[:MAX_LISTED])
        scores.append(TechniqueScore(technique, 100 * len(confirmed) / in_scope[technique], comment,
                                     show_subtechniques="." in technique and bool(confirmed), metadata=extra))
    parents = {_parent(s.technique_id) for s in scores} - {None}
    shown = {s.technique_id for s in scores}
    scores += [TechniqueScore(parent, None, "shown for its sub-techniques' scenarios", show_subtechniques=True)
               for parent in sorted(parents - shown) if parent]
    return build_layer("organization replay-confirmed coverage",
                       "techniques with replay scenarios (docs/replay.md): share of the accounts each is in scope for "
                       "where a detection that alerts today fires on one of its scenarios' CloudTrail records; "
                       "techniques without scenarios are not on this layer",
                       coverage.attack_version, scores, platforms=_platform_filter(per_technique, coverage.platforms))


def gaps_layer(coverage: Coverage) -> dict:
    """Per technique: the highest risk of its open gaps across the organization, and where."""
    names = coverage.accounts
    per_technique: dict[str, list[Cell]] = defaultdict(list)
    for cell in coverage.cells:
        if not cell.covered:
            per_technique[cell.technique].append(cell)
    in_scope: dict[str, int] = defaultdict(int)
    for cell in coverage.cells:
        in_scope[cell.technique] += 1
    scores = []
    shown: set[str] = set()
    for technique, cells in sorted(per_technique.items()):
        open_gaps = sorted((c for c in cells if c.gap_status in OPEN_STATUSES and c.risk is not None),
                           key=lambda c: (-(c.risk or 0), c.account))
        triaged = [c for c in cells if c not in open_gaps]  # accepted_risk, or marked remediated by a person
        if open_gaps:
            top = open_gaps[0]
            where = [f"{names.get(c.account, c.account)} {c.risk:g}" for c in open_gaps]
            comment = (f"highest risk {top.risk:g} ({top.severity}); open in {len(open_gaps)} of "
                       f"{in_scope[technique]} accounts: {_listed(where, 3)}")
            score: float | None = top.risk
        else:
            comment = f"no open gap; {len(triaged)} of {in_scope[technique]} accounts not covered, triaged " + \
                ", ".join(sorted({c.gap_status or "?" for c in triaged}))
            score = None
        if triaged and open_gaps:
            comment += f"; {len(triaged)} more triaged " + ", ".join(sorted({c.gap_status or "?" for c in triaged}))
        extra = tuple(("account", f"{_label(names, c.account)}: {c.risk:g} {c.severity}")
                      for c in open_gaps[:MAX_LISTED])
        if len(open_gaps) > MAX_LISTED:
            extra += (("account", f"{len(open_gaps) - MAX_LISTED} more accounts"),)
        scores.append(TechniqueScore(technique, score, comment, metadata=extra))
        shown.add(technique)
    # parents with a sub-technique on the layer open in Navigator
    parents_of_shown = {_parent(t) for t in shown} - {None}
    scores = [TechniqueScore(s.technique_id, s.score, s.comment, metadata=s.metadata,
                             show_subtechniques=s.technique_id in parents_of_shown or
                             ("." in s.technique_id and s.score is not None))
              for s in scores]
    scores += [TechniqueScore(parent, None, "no open gap on the technique itself; shown for its sub-techniques",
                              show_subtechniques=True)
               for parent in sorted(parents_of_shown - shown) if parent]
    return build_layer("organization gaps by risk",
                       "open coverage gaps (in scope, not covered now): score = the highest risk_score (0-100) "
                       "of the technique's open gaps across the organization's accounts; severity critical >= 70, "
                       "high >= 45, medium >= 20; covered techniques are not on this layer",
                       coverage.attack_version, scores,
                       platforms=_platform_filter(per_technique, coverage.platforms),
                       gradient=RISK_GRADIENT, legend=RISK_LEGEND)


def build_layers(coverage: Coverage) -> dict[str, dict]:
    """File name -> layer: account-<id>.json per account, organization.json, organization-gaps.json, with
    accounts on several providers provider-<provider>.json and provider-<provider>-gaps.json for each, and with
    replay results organization-replay.json."""
    cells: dict[str, list[Cell]] = defaultdict(list)
    for cell in coverage.cells:
        cells[cell.account].append(cell)
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    for found in coverage.evidence:
        evidence[found.account].append(found)
    layers = {}
    for account, name in sorted(coverage.accounts.items()):
        if cells.get(account):
            file = f"account-{re.sub(r'[^0-9A-Za-z_-]', '_', account)}.json"
            layers[file] = account_layer(account, name, cells[account], evidence.get(account, []), coverage)
    layers["organization.json"] = organization_layer(coverage)
    layers["organization-gaps.json"] = gaps_layer(coverage)
    # an organization on several providers also gets each provider's own pair (its scope is the provider's)
    present = sorted({coverage.providers.get(a, "aws") for a in coverage.accounts})
    if len(present) > 1:
        for provider in present:
            mine = {a for a in coverage.accounts if coverage.providers.get(a, "aws") == provider}
            part = replace(coverage, accounts={a: n for a, n in coverage.accounts.items() if a in mine},
                           cells=[c for c in coverage.cells if c.account in mine],
                           evidence=[e for e in coverage.evidence if e.account in mine])
            for file, layer in ((f"provider-{provider}.json", organization_layer(part)),
                                (f"provider-{provider}-gaps.json", gaps_layer(part))):
                layer["name"] = f"{provider}: {layer['name']}"
                layers[file] = layer
    if coverage.replay:
        layers["organization-replay.json"] = replay_layer(coverage)
    return layers


def write_layers(url: str, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    layers = build_layers(read_coverage(url))
    for stale in [*out_dir.glob("account-*.json"), *out_dir.glob("provider-*.json")]:  # no longer scanned: no layer
        if stale.name not in layers:
            stale.unlink()
    written = []
    for file, layer in layers.items():
        path = out_dir / file
        path.write_text(json.dumps(layer, indent=1))
        written.append(path)
    return written
