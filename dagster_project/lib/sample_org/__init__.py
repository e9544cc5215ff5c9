"""A deterministic sample AWS organization: generated detections, an export directory, a moto population."""

from dagster_project.lib.sample_org.export import prepare_dated_export, write_export
from dagster_project.lib.sample_org.generate import SampleAccount, generate
from dagster_project.lib.sample_org.moto_org import populate_moto

__all__ = ["SampleAccount", "generate", "populate_moto", "prepare_dated_export", "write_export"]
