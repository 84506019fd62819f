"""Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from hotline.db import Base
from hotline.db.registry import import_all_models


def test_migrated_schema_matches_models(db_engine: Engine) -> None:
    assert "hotline.models" in import_all_models()
    with db_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
