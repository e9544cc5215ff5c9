"""Alembic environment: plain-SQL migrations for the schemas the project owns outside dbt (raw, app).

Run through `dagster_project.lib.warehouse.migrate.upgrade(url)`, which passes the URL in; an advisory lock
serializes concurrent runs (several Dagster processes may start at once).
"""

from alembic import context
from sqlalchemy import create_engine, text

MIGRATION_LOCK = 7_451_001  # arbitrary constant: pg_advisory_lock key for migrations

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url)
with engine.connect() as connection:
    connection.execute(text("select pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    connection.commit()  # the lock is the session's; each revision then runs in its own transaction (or none)
    try:
        # own version table: Dagster keeps its alembic_version in the same database when they share one
        context.configure(connection=connection, version_table="dcv_alembic_version", version_table_schema="public",
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("select pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
engine.dispose()
