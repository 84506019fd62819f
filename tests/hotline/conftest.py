"""Hotline fixtures: a migrated database (SQLite, or PostgreSQL via HOTLINE_TEST_DATABASE_URL), app, clients."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from guides import Service, load_demo_catalog
from hotline import HotlineSettings, create_app
from hotline.accounts import create_user
from hotline.catalog import store_services
from hotline.db import Base, create_db_engine, create_session_factory, session_scope, upgrade_database
from hotline.intent import bootstrap_intent_model
from hotline.models import Role
from tests.conftest import require_service

TEST_SECRET = "test-secret-key-" + "x" * 32
PASSWORD = "correct-horse-battery"
DEPT_A = "民政局"
DEPT_B = "公安局（户政）"


def _postgres_schema_url(base_url: str, schema: str) -> str:
    return (
        make_url(base_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated with Alembic once per session: SQLite file, or a fresh PostgreSQL schema."""
    base = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hotline.sqlite3'}"
        engine = create_db_engine(url)
        upgrade_database(engine)
        engine.dispose()
        yield url
        return
    schema = f"hotline_test_{secrets.token_hex(4)}"
    admin_engine = create_db_engine(base)
    try:
        with admin_engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 — any connection failure means the service is missing
        admin_engine.dispose()
        require_service(f"PostgreSQL at {make_url(base).render_as_string()} unavailable: {exc}")
    url = _postgres_schema_url(base, schema)
    engine = create_db_engine(url)
    upgrade_database(engine)
    engine.dispose()
    yield url
    with admin_engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin_engine.dispose()


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated test database, emptied before each test."""
    engine = create_db_engine(database_url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test database."""
    return create_session_factory(db_engine)


@pytest.fixture
def settings(database_url: str, db_engine: Engine, tmp_path: Path) -> HotlineSettings:
    """Test settings pointing at the test database."""
    return HotlineSettings(
        environment="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        data_dir=tmp_path,
        log_level="WARNING",
        search_warmup=False,
    )


@pytest.fixture(scope="session")
def demo_services() -> list[Service]:
    """The bundled demo catalog, parsed once."""
    return load_demo_catalog()


@pytest.fixture(scope="session")
def fast_hasher() -> PasswordHash:
    """Argon2 with minimal cost, so test accounts are quick to create and to sign in to."""
    return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


@pytest.fixture
def seeded(
    session_factory: sessionmaker[Session], demo_services: list[Service], fast_hasher: PasswordHash
) -> dict[str, str]:
    """The demo catalog plus an admin and clerks of two departments; returns usernames by role key."""
    with session_scope(session_factory) as session:
        store_services(session, services=demo_services, actor=None)
        create_user(session, username="admin1", password=PASSWORD, role=Role.admin, hasher=fast_hasher)
        for username, department in (("clerk_a", DEPT_A), ("clerk_b", DEPT_B)):
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=Role.clerk,
                departments=[department],
                hasher=fast_hasher,
            )
    return {"admin": "admin1", "clerk_a": "clerk_a", "clerk_b": "clerk_b"}


@pytest.fixture
def app(settings: HotlineSettings):  # type: ignore[no-untyped-def]
    """The application under test."""
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An anonymous browser."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the form; returns the CSRF token for later writes."""
    client.get("/login")
    token = client.cookies["csrftoken"]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrftoken": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return token


@pytest.fixture
def make_client(app) -> Iterator[Callable[[str | None], TestClient]]:  # type: ignore[no-untyped-def]
    """Factory of clients signed in as a username (None: anonymous)."""
    clients: list[TestClient] = []

    def factory(username: str | None) -> TestClient:
        test_client = TestClient(app, raise_server_exceptions=False)
        clients.append(test_client)
        if username is not None:
            login(test_client, username)
        return test_client

    yield factory
    for test_client in clients:
        test_client.close()


@pytest.fixture(scope="session")
def bootstrapped_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An intent model registry with the bootstrap model trained and promoted once per session."""
    directory = tmp_path_factory.mktemp("intent-registry")
    assert "trained and promoted" in bootstrap_intent_model(registry_dir=directory)
    return directory
