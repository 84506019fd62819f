"""Database: one declarative ``Base``, engine and session factories, Alembic migrations."""

from hotline.db.base import Base
from hotline.db.engine import create_db_engine, create_session_factory, session_scope
from hotline.db.migrate import upgrade_database

__all__ = ["Base", "create_db_engine", "create_session_factory", "session_scope", "upgrade_database"]
