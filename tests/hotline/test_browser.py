"""The real server in Chromium: browse, search by keyboard, sign in, edit, see the new version; axe stays clean."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import free_port, serious_violations
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.browser

HOTLINE = Path(sys.executable).parent / "hotline"
ADMIN = ("browser-admin", "browser-admin-password")
# Screenshots for the docs are refreshed only on request (HOTLINE_UPDATE_SCREENSHOTS=1); tests leave the tree clean.
DOCS_IMG = REPO_ROOT / "docs" / "img"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hotline setup`, an admin account, then `hotline serve` on a free port (never 8000)."""
    data_dir = tmp_path_factory.mktemp("browser-server")
    env = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(data_dir),
        "HOTLINE_ENVIRONMENT": "development",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    env.pop("HOTLINE_DATABASE_URL", None)
    subprocess.run([HOTLINE, "setup"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run(
        [HOTLINE, "users", "create", ADMIN[0], "--role", "admin", "--password-stdin"],
        env=env,
        input=ADMIN[1] + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = free_port()
    process = subprocess.Popen(
        [HOTLINE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"server did not start: {process.stderr.read().decode() if process.stderr else ''}"
                ) from None
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=20)


def test_citizen_and_admin_journey(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shots = DOCS_IMG if os.environ.get("HOTLINE_UPDATE_SCREENSHOTS") else tmp_path
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(server + "/")
    assert "办事指南" in page.title()
    assert serious_violations(page) == [], "index"
    page.screenshot(path=str(shots / "hotline-index.png"))

    for _ in range(20):  # keyboard only: tab to the search box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "q":
            break
    else:
        pytest.fail("the search box cannot be reached with Tab")
    page.keyboard.type("领结婚证")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert serious_violations(page) == [], "search"

    page.get_by_role("link", name="内地居民结婚登记").first.click()
    page.wait_for_url("**/guides/mzj-jhdj")
    assert page.get_by_role("heading", level=1).inner_text().startswith("内地居民结婚登记")
    assert serious_violations(page) == [], "guide"
    page.screenshot(path=str(shots / "hotline-guide.png"), full_page=True)

    page.get_by_role("link", name="生成我的材料清单").click()
    page.wait_for_url("**/guides/mzj-jhdj/checklist*")
    assert "您的材料清单" in page.get_by_role("heading", level=1).inner_text()
    assert serious_violations(page) == [], "checklist"

    page.goto(server + "/login")
    assert serious_violations(page) == [], "login"
    page.get_by_label("用户名").fill(ADMIN[0])
    page.get_by_label("密码").fill(ADMIN[1])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console")

    page.goto(server + "/admin/guides/mzj-jhdj/edit")
    assert serious_violations(page) == [], "edit form"
    page.get_by_label("事项名称").fill("内地居民结婚登记（浏览器测试版）")
    page.get_by_role("button", name="保存为新版本").click()
    page.wait_for_url("**/guides/mzj-jhdj/v/2")
    assert "（浏览器测试版）" in page.get_by_role("heading", level=1).inner_text()
    page.goto(server + "/guides/mzj-jhdj/v/1")
    assert "（浏览器测试版）" not in page.get_by_role("heading", level=1).inner_text()
    context.close()
