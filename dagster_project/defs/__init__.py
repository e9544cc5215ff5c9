"""Dagster objects only, one folder per domain; definitions.py loads every module below."""
