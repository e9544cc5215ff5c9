"""Replay: attack scenarios (CloudTrail records per ATT&CK technique) into raw, and which of them each
detection pattern fires on (docs/replay.md).

Unpartitioned, like the parse: scenarios change when their folders do, and replay follows distinct patterns and
new scenarios, not days. A bad scenario file is quarantined (raw.quarantine, source replay_scenarios) with its
file and reason; the rest loads and replays.
"""

import time

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.replay import engine, scenarios, store


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "replay_scenarios"], group_name="replay", kinds={"python", "postgres"},
                     description="Replay scenarios: an ATT&CK technique and the CloudTrail records of a real attack "
                     "on it (Stratus Red Team detonations, TrailDiscover examples, your own folders), with "
                     "provenance: folder, licence, upstream commit, sha256 of each file."),
        dg.AssetSpec(["raw", "replay_scenario_records"], group_name="replay", kinds={"python", "postgres"},
                     description="Each scenario's CloudTrail records verbatim, numbered in file order."),
    ],
    can_subset=False,
)
def replay_scenarios(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    folders = settings.load().replay_scenario_folders
    reads, failures = [], []
    for folder in folders:
        try:
            reads.append(scenarios.read_folder(folder))
        except (OSError, scenarios.ScenarioFileError) as exc:
            failures.append((str(folder), f"cannot read the folder ({exc})"))
    with warehouse.connect() as conn:
        stats = store.load_scenarios(conn, reads)
        rejected = store.quarantine(conn, reads, failures)
    per_source = {r.source: {"folder": r.folder, "scenarios": len(r.scenarios), "rejected": len(r.rejects),
                             "without_records": r.skipped} for r in reads}
    context.log.info(f"scenarios: {len(stats.loaded)} new, {len(stats.replaced)} changed, {stats.unchanged} "
                     f"unchanged, {len(stats.deleted)} gone; {rejected} quarantined")
    if rejected:
        context.log.warning(f"{rejected} scenario files or records quarantined: select * from raw.quarantine "
                            f"where source = '{store.QUARANTINE_SOURCE}'")
    metadata = {"sources": dg.MetadataValue.json(per_source), "new": len(stats.loaded),
                "changed": len(stats.replaced), "unchanged": stats.unchanged, "deleted": len(stats.deleted),
                "quarantined": rejected}
    yield dg.MaterializeResult(asset_key=["raw", "replay_scenarios"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["raw", "replay_scenario_records"], metadata={"records_loaded": stats.records})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "replay_contents"], group_name="replay", kinds={"python", "postgres"},
                     deps=[dg.AssetKey(["raw", "detection_contents"])],
                     description="Each EventBridge rule and CloudWatch metric filter configuration with the pattern "
                     "it is replayed by, or why none (a rule on a custom bus, a schedule)."),
        dg.AssetSpec(["raw", "replay_patterns"], group_name="replay", kinds={"python", "postgres"},
                     deps=[dg.AssetKey(["raw", "detection_contents"])],
                     description="Each distinct pattern once, with how far it has been replayed (scenario load "
                     "sequence) and why it cannot be, if it cannot."),
        dg.AssetSpec(["raw", "replay_pattern_matches"], group_name="replay", kinds={"python", "postgres"},
                     deps=[dg.AssetKey(["raw", "replay_scenarios"]), dg.AssetKey(["raw", "replay_scenario_records"])],
                     description="Pattern x scenario pairs where the pattern matched, with the scenario's records "
                     "it matched."),
    ],
    can_subset=False,
)
def replayed_patterns(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    started = time.perf_counter()
    with warehouse.connect() as conn:
        stats = engine.replay_pending(conn)
    seconds = round(time.perf_counter() - started, 3)
    context.log.info(f"replay: {stats.new_contents} new configurations, {stats.patterns_replayed} patterns against "
                     f"{stats.records} records ({stats.tests} candidate tests, {stats.matches} pattern x scenario "
                     f"matches), {stats.pattern_errors} not replayable, in {seconds}s")
    metadata = {"new_contents": stats.new_contents, "patterns_replayed": stats.patterns_replayed,
                "pattern_errors": stats.pattern_errors, "records": stats.records, "candidate_tests": stats.tests,
                "matches": stats.matches, "seconds": seconds, "replay_version": engine.REPLAY_VERSION}
    yield dg.MaterializeResult(asset_key=["raw", "replay_contents"], metadata={"new_contents": stats.new_contents})
    yield dg.MaterializeResult(asset_key=["raw", "replay_patterns"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["raw", "replay_pattern_matches"], metadata={"matches": stats.matches})

# each asset's page links to the function that computes it
replay_scenarios, replayed_patterns = dg.with_source_code_references([replay_scenarios, replayed_patterns])
