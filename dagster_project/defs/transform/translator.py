"""Asset keys and groups for dbt nodes, derived from the manifest, never from name lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class ProjectTranslator(DagsterDbtTranslator):
    """Every node is keyed by the table it is, <schema>/<table>; models are grouped by their folder under models/
    (staging, marts_core...).

    A source is keyed by its table too, not by dagster-dbt's default <source name>/<table>: the models reading
    raw.detection_presence then depend on the ingest asset raw/detection_presence and run after it, whatever
    the source is called in dbt.
    """

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["identifier"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        # fqn = [project, folder, subfolder..., name]; seeds/snapshots have no folder of their own
        folders = fqn[1:-1]
        if dbt_resource_props["resource_type"] != "model" or not folders:
            return dbt_resource_props["resource_type"] + "s"
        return "_".join(folders[:2])
