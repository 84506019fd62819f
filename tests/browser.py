"""Real Chromium for browser tests: Debian's /usr/bin/chromium driven by Playwright, checked with axe-core."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
AXE_RULE_SETS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now (never uvicorn's or Flower's default 8000)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the test module."""
    if not CHROMIUM.exists():
        require_service(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def serious_violations(page: Any) -> list[tuple[str, list[Any]]]:
    """axe-core's serious and critical violations on the page: (rule id, first three targets)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": AXE_RULE_SETS})
    return [
        (violation["id"], [node["target"] for node in violation["nodes"]][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
