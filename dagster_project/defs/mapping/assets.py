"""Parse asset: each distinct detection configuration -> raw.detection_logic + raw.detection_signals.

Incremental by content hash, not partitioned: only configurations never parsed, or parsed by an older
PARSER_VERSION, are read. The same CIS filter in 1,000 accounts is one content and is parsed once.
"""

import time

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.parsing import PARSER_VERSION
from dagster_project.lib.parsing.store import LOW_CONFIDENCE, parse_pending


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["raw", "detection_logic"], group_name="mapping", kinds={"python", "postgres"},
                     deps=[dg.AssetKey(["raw", "detection_contents"])],
                     description="Parsed logic of each distinct configuration: what it watches, when it fires, "
                     "its actions, severity and parse confidence (by content hash, per parser version)."),
        dg.AssetSpec(["raw", "detection_signals"], group_name="mapping", kinds={"python", "postgres"},
                     deps=[dg.AssetKey(["raw", "detection_contents"])],
                     description="Joinable signals of each parsed configuration: api_call, finding_type, "
                     "control, config_rule, metric, log_pattern, condition."),
    ],
    can_subset=False,
)
def parsed_detection_logic(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Parse configurations whose hash is new or whose parse is older than PARSER_VERSION."""
    started = time.perf_counter()
    with warehouse.connect() as conn:
        stats = parse_pending(conn)
    seconds = round(time.perf_counter() - started, 3)
    context.log.info(f"parsed {stats.parsed} contents ({dict(stats.by_type)}), {stats.signals} signals, "
                     f"{stats.low_confidence} below {LOW_CONFIDENCE} confidence, in {seconds}s")
    metadata = {"parsed": stats.parsed, "by_type": dg.MetadataValue.json(dict(stats.by_type)),
                "low_confidence": stats.low_confidence, "signals": stats.signals, "seconds": seconds,
                "parser_version": PARSER_VERSION}
    yield dg.MaterializeResult(asset_key=["raw", "detection_logic"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["raw", "detection_signals"], metadata=metadata)

# each asset's page links to the function that computes it
(parsed_detection_logic,) = dg.with_source_code_references([parsed_detection_logic])
