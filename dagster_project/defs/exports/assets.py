"""What leaves the warehouse for people: ATT&CK Navigator layers per account, for the organization, and the
organization's open gaps by risk."""

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.exports.coverage_layers import write_layers


@dg.asset(
    key=["exports", "navigator_layers"],
    group_name="exports",
    deps=[["marts", name] for name in ("coverage_history", "coverage_scores", "coverage_gaps", "detection_mappings",
                                       "detections", "detection_health_findings", "accounts", "mitre_techniques",
                                       "replay_technique_coverage")],
    kinds={"python", "json"},
    description="ATT&CK Navigator layers (format 4.5; docs/coverage-semantics.md \"Navigator layers\"): every "
    "in-scope technique scored (0 = not covered), comment = why, metadata = the detections that count; one file "
    "per account, organization.json (share of accounts covered) and organization-gaps.json (highest open risk), "
    "in $DCV_HOME/layers; with replay results, each technique's replay state in the comments and "
    "organization-replay.json (share of accounts where replay confirms it; docs/replay.md).",
)
def navigator_layers(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    out_dir = settings.load().home / "layers"
    paths = write_layers(warehouse.url(), out_dir)
    context.log.info(f"wrote {len(paths)} layers to {out_dir}")
    return dg.MaterializeResult(metadata={"layers": len(paths), "directory": dg.MetadataValue.path(str(out_dir))})

# each asset's page links to the function that computes it
(navigator_layers,) = dg.with_source_code_references([navigator_layers])
