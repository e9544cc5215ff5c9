"""Apply the Alembic migrations in schema/migrations to a warehouse URL (idempotent)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from dagster_project.lib.settings import MIGRATIONS_DIR
from dagster_project.lib.warehouse.connection import sqlalchemy_url


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would eat a '%' in an encoded password
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(_config(url), revision)


def current(url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("select to_regclass('public.dcv_alembic_version')")).scalar()
            return conn.execute(text("select version_num from public.dcv_alembic_version")).scalar() if exists else None
    finally:
        engine.dispose()
