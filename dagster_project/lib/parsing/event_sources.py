"""Turning event sources and event names into api_call / api_call_name / service signals.

Every detection family ends up with "which service" and "which API names"; the combination rules (explicit
source beats the seed lookup, an ambiguous bare name stays bare) live here once.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from dagster_project.lib import settings
from dagster_project.lib.parsing.model import AMBIGUOUS, EXACT, PREFIX, SEED, SERVICE, Builder

SIBLING = 0.7  # source inferred from the other names of the same detection

SEED_CSV = settings.DBT_PROJECT_DIR / "seeds" / "knowledge" / "aws_api_event_sources_seed.csv"
ALIASES_YAML = Path(__file__).with_name("aliases.yaml")


@functools.cache
def aliases() -> dict[str, Any]:
    return yaml.safe_load(ALIASES_YAML.read_text())


@functools.cache
def seed_sources() -> dict[str, tuple[str, ...]]:
    """event_name -> every event source that records it: the seed's one, or aliases' shared_event_names."""
    found: dict[str, set[str]] = {name: set(sources) for name, sources in aliases()["shared_event_names"].items()}
    if SEED_CSV.is_file():
        with SEED_CSV.open(newline="") as f:
            for row in csv.DictReader(f):
                name, source = (row.get("event_name") or "").strip(), (row.get("event_source") or "").strip()
                if name and source:
                    found.setdefault(name, set()).add(source)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def normalise_source(source: str) -> str:
    """`aws.iam` (EventBridge) -> `iam.amazonaws.com`; an eventSource passes through."""
    source = source.strip()
    if source.endswith(".amazonaws.com"):
        return source
    special = aliases()["eventbridge_sources"]
    if source in special:
        return special[source]
    if source.startswith("aws."):
        return source[4:] + ".amazonaws.com"
    return source


def add_api_calls(b: Builder, sources: Iterable[str], names: Iterable[tuple[str, str]],
                  exact_confidence: float = EXACT) -> None:
    """Signals for event names (value, qualifier 'exact'|'prefix') observed with the given sources.

    A source:name pair is only emitted when it is known to be right (never a wrong pair):
    - one source: the name pairs with it, unless the pair is impossible (`split_event_sources`: Route 53
      Domains calls are recorded as route53domains, never route53) — then the seed's source is used;
    - several sources: a name pairs with the sources the seed ties it to among them (a Sigma selection over
      iam+sts with [CreateUser, AssumeRole] must not invent sts:CreateUser); a name the seed does not tie to
      any of them stays a bare `api_call_name` (which of the sources records it is unknown);
    - Lambda's API-versioned names (`DeleteFunction20150331`, `UpdateFunctionCode20150331v2`, the prefix
      `DeleteFunction20*`) are read as the operation they version (`DeleteFunction`).
    Callers that know the query's structure pair names with their own sources first (query_scan.apply).
    """
    sources = list(dict.fromkeys(normalise_source(s) for s in sources if s))
    names = [(n, q) for n, q in names if n]
    for s in sources:
        b.entity("event_sources", s)
    for n, _ in names:
        b.entity("event_names", n)
    if not names:
        for s in sources:
            b.signal("service", s, confidence=SERVICE)
        return
    names = [unversioned(n, q, sources) for n, q in names]
    sibling = _sibling_source(names) if not sources else None
    for name, qualifier in names:
        conf = exact_confidence if qualifier == "exact" else PREFIX
        if sources:
            paired = _paired_sources(b, name, qualifier, sources)
            for s in paired:
                b.signal("api_call", f"{s}:{name}", qualifier, conf if s in sources else min(conf, SEED))
            if not paired:
                b.note(f"event name {name!r} not tied to one of {len(sources)} event sources: kept bare")
                b.signal("api_call_name", name, qualifier, min(conf, AMBIGUOUS))
            continue
        candidates = seed_sources().get(name, ()) if qualifier == "exact" else ()
        if len(candidates) == 1:
            b.signal("api_call", f"{candidates[0]}:{name}", qualifier, min(conf, SEED))
        elif not candidates and sibling:
            b.signal("api_call", f"{sibling}:{name}", qualifier, min(conf, SIBLING))
        else:
            b.signal("api_call_name", name, qualifier, min(conf, AMBIGUOUS))


def _paired_sources(b: Builder, name: str, qualifier: str, sources: list[str]) -> list[str]:
    """The event sources `name` is recorded under among those the rule names; [] when that is unknown."""
    if qualifier != "exact":
        return sources  # a prefix is a pattern the rule applies to every source it names, not a claimed API
    known = seed_sources().get(name, ())
    paired = [s for s in known if s in sources]
    if paired:
        return paired
    moved = sorted({t for s in sources for t in aliases()["split_event_sources"].get(s, ()) if t in known})
    if moved:
        b.doubt(f"{name} is recorded under {', '.join(moved)}, not {', '.join(sources)}", SEED)
        return moved
    return sources if len(sources) == 1 else []


_LAMBDA = "lambda.amazonaws.com"


def _whole_lambda_operation(prefix: str) -> bool:
    """Whether `prefix*` under Lambda matches one operation only (its API-versioned event names)."""
    operations = aliases()["lambda_operations"]
    return prefix in operations and not any(o != prefix and o.startswith(prefix) for o in operations)

# CloudTrail records most Lambda operations with the API version appended: CreateFunction20150331,
# UpdateFunctionCode20150331v2, PublishLayerVersion20181031. Exact names carry a full date; a prefix
# (`DeleteFunction20*`) a partial one, and then matches only the versions of that one operation.
_VERSIONED = {"exact": re.compile(r"([A-Z][A-Za-z]*[a-z])20\d{6}(?:v\d+)?"),
              "prefix": re.compile(r"([A-Z][A-Za-z]*[a-z])20\d{0,6}(?:v\d*)?")}


def unversioned(name: str, qualifier: str, sources: Iterable[str] = ()) -> tuple[str, str]:
    """`DeleteFunction20150331` / `DeleteFunction20*` -> ('DeleteFunction', 'exact') for Lambda; so is
    `AddPermission*`, a prefix no other Lambda operation's name begins with (aliases.yaml lambda_operations).

    Applies when Lambda is among the rule's sources, or when no source is named and the seed ties the
    operation to Lambda alone; other services' names pass through unchanged."""
    sources = list(sources)
    if qualifier == "prefix" and _LAMBDA in sources and _whole_lambda_operation(name):
        return name, "exact"
    m = _VERSIONED.get(qualifier, _VERSIONED["exact"]).fullmatch(name)
    if not m:
        return name, qualifier
    if _LAMBDA in sources or (not sources and seed_sources().get(m.group(1)) == (_LAMBDA,)):
        return m.group(1), "exact"
    return name, qualifier


def _sibling_source(names: list[tuple[str, str]]) -> str | None:
    """The one source every seed-known name of the detection belongs to, if there is exactly one.

    Filters list names of one service (the CIS CloudTrail filter: CreateTrail, UpdateTrail, DeleteTrail,
    StartLogging, StopLogging); names the seed lacks most likely share their siblings' source.
    """
    found = {s for n, q in names if q == "exact" for s in seed_sources().get(n, ())}
    resolved = [n for n, q in names if q == "exact" and n in seed_sources()]
    return next(iter(found)) if len(found) == 1 and resolved else None


def wildcard_name(value: str) -> tuple[str, str] | None:
    """`Delete*` -> ('Delete', 'prefix'); `CreateUser` -> exact; other wildcards (`*Key`) -> None."""
    if "*" not in value and "?" not in value:
        return value, "exact"
    if value.endswith("*") and "*" not in value[:-1] and "?" not in value and len(value) > 1:
        return value[:-1], "prefix"
    return None
