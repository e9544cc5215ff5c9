"""What leaves the warehouse for people: ATT&CK Navigator layers per account and for the organization."""

import dagster as dg

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib import settings
from dagster_project.lib.exports.coverage_layers import write_layers


@dg.asset(
    key=["exports", "navigator_layers"],
    group_name="exports",
    deps=[["marts", "coverage_history"], ["marts", "detection_mappings"], ["marts", "accounts"]],
    kinds={"python", "json"},
    description="ATT&CK Navigator layers (format 4.5): score = coverage, comment = rationale, metadata = "
    "detection names; one file per account plus organization.json, in $DCV_HOME/layers.",
)
def navigator_layers(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    out_dir = settings.load().home / "layers"
    paths = write_layers(warehouse.url(), out_dir)
    context.log.info(f"wrote {len(paths)} layers to {out_dir}")
    return dg.MaterializeResult(metadata={"layers": len(paths), "directory": dg.MetadataValue.path(str(out_dir))})
