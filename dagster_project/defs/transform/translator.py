"""Asset keys, groups, owners and code references for dbt nodes, derived from the manifest, never from name lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class ProjectTranslator(DagsterDbtTranslator):
    """Every node is keyed by the table it is, <schema>/<table>; models are grouped by their folder under models/
    (staging, marts_core...).

    A source is keyed by its table too, not by dagster-dbt's default <source name>/<table>: the models reading
    raw.detection_presence then depend on the ingest asset raw/detection_presence and run after it, whatever
    the source is called in dbt.

    Owners come from dbt (`meta: {dagster: {owners: [...]}}`, set per folder in dbt_project.yml and read by
    dagster-dbt); each asset links to its SQL file (code references), and its description is the model's own,
    without the SQL dagster-dbt appends by default (the code reference opens it).

    A daily-partitioned model (tag `partitioned`) also depends directly on the daily ingest tables it reads
    through unpartitioned models (`daily_sources`; day D on day D). Dagster's asset backfill targets the
    partitioned assets of a date range by walking down from the partitioned roots through partitioned assets
    only: without these edges the history marts, reached only through unpartitioned models, were left out of
    every "Materialize all" backfill ("No partitions available").
    """

    def __init__(self, daily_sources: Iterable[dg.AssetKey] = ()) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True,
                                                               enable_code_references=True))
        self.daily_sources = frozenset(daily_sources)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if not self.daily_sources or "partitioned" not in props.get("tags", []):
            return spec
        direct = {dep.asset_key for dep in spec.deps}
        read = self._sources_read(manifest, unique_id) & self.daily_sources
        extra = sorted(read - direct, key=lambda k: k.to_user_string())
        return spec.merge_attributes(deps=[dg.AssetDep(key) for key in extra]) if extra else spec

    def _sources_read(self, manifest: Mapping[str, Any], unique_id: str) -> set[dg.AssetKey]:
        """The keys of every dbt source a node reads, through any number of models."""
        parents, seen, found = manifest["parent_map"], set(), set()
        stack = list(parents.get(unique_id, []))
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node.startswith("source."):
                found.add(self.get_asset_key(manifest["sources"][node]))
            else:
                stack.extend(parents.get(node, []))
        return found

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

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return dbt_resource_props.get("description") or (
            f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']} (no description in dbt yet)")
