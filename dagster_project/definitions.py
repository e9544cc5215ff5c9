"""Thin: load every Dagster object under defs/ and bind the resources. Nothing else lives here."""

import dagster as dg

from dagster_project import defs as defs_package
from dagster_project.defs.resources import resources

defs = dg.load_definitions_from_package_module(defs_package, resources=resources)
