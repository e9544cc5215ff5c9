"""Thin: load every Dagster object under defs/ and bind the resources. Nothing else lives here."""

import warnings

import dagster as dg

from dagster_project import defs as defs_package
from dagster_project.defs.resources import resources

# the team running the pipeline owns what has no owner of its own (dbt models name theirs in dbt_project.yml);
# map_resolved_asset_specs is marked preview: its warning would greet every `make ui` and run log
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)
    defs = dg.load_definitions_from_package_module(defs_package, resources=resources).map_resolved_asset_specs(
        func=lambda spec: spec if spec.owners else spec.replace_attributes(owners=["team:data-platform"]))
