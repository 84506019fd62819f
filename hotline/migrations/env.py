"""Alembic environment: migrations run on the engine handed over by ``hotline.db.migrate``."""

from alembic import context
from sqlalchemy import create_engine

from hotline.db.base import Base
from hotline.db.registry import import_all_models

import_all_models()

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on the configured engine, inside one transaction."""
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
