"""Plain Python with no Dagster imports: what the unit tests target."""
