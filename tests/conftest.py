"""Fixtures every test package shares: where the real data lives, and real-service requirements."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.browser"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def require_service(reason: str) -> None:
    """Skip a test whose real service is missing, but fail instead where the test command set it up."""
    if os.environ.get("HOTLINE_TEST_REQUIRE_SERVICES"):
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data in ../shared/data (never copied into the repository)."""
    if not SHARED_DATA.is_dir():
        require_service(f"{SHARED_DATA} is missing")
    return SHARED_DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "db_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
