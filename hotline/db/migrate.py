"""Run the Alembic migrations bundled in ``hotline/migrations``."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the package's migrations and reusing ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("hotline") / "migrations"))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the latest)."""
    command.upgrade(alembic_config(engine), revision)
