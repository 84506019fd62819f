"""Chromium against a real server: the result page polls to its result, boxes show, a clerk overrides; axe stays clean."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from hotline import HotlineSettings
from hotline.jobs import JobSettings
from hotline.submissions import FakeReviewer, SubmissionSettings
from tests.browser import free_port, serious_violations
from tests.hotline.conftest import PASSWORD
from tests.hotline.submissions.conftest import A_CODE, VALID_ID, build_app, png_page

pytestmark = pytest.mark.browser


class GatedReviewer(FakeReviewer):
    """The fake reviewer, held until the test has seen the in-progress page (no race with a fast worker)."""

    def __init__(self, inner: FakeReviewer) -> None:
        super().__init__(inner.extra_findings, max_side_px=inner.max_side_px)
        self.gate = threading.Event()

    def review(self, **kwargs):  # type: ignore[no-untyped-def]
        """Wait for the gate (at most 30 s), then review as the fake does."""
        self.gate.wait(30)
        return super().review(**kwargs)


@pytest.fixture
def gated(reviewer: FakeReviewer) -> GatedReviewer:
    """The module's reviewer behind a gate the test opens."""
    return GatedReviewer(reviewer)


@pytest.fixture
def server(
    settings: HotlineSettings, seeded: dict[str, str], gated: GatedReviewer, submission_settings: SubmissionSettings
) -> Iterator[str]:
    """The app with the submissions router under uvicorn in a thread, reviewing through the gated fake."""
    jobs = JobSettings(in_app_workers=1, poll_interval_s=0.5, backoff_base_s=0)
    app = build_app(settings, gated, jobs, submission_settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    gated.gate.set()
    server.should_exit = True
    thread.join(20)


def test_result_page_and_review_in_chromium(server: str, browser, seeded: dict[str, str], gated: GatedReviewer) -> None:  # type: ignore[no-untyped-def]
    citizen = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = citizen.new_page()
    page.goto(f"{server}/apply/{A_CODE}")
    assert serious_violations(page) == [], "upload form"
    page.get_by_label("申请人姓名").fill("张三")
    page.get_by_label("身份证号码").fill(VALID_ID)
    token = next(c["value"] for c in citizen.cookies() if c["name"] == "csrftoken")
    # asgi-csrf 0.11 cannot read multipart bodies with python-multipart >= 0.0.26, so the header carries the token.
    created = page.request.post(
        f"{server}/api/v1/submissions",
        multipart={
            "service": A_CODE, "name": "张三", "id_number": VALID_ID,
            "files": {"name": "id-front.png", "mimeType": "image/png", "buffer": png_page(1)},
        },
        headers={"x-csrftoken": token},
    )
    assert created.status == 202, created.text()
    page.goto(server + created.json()["result_url"])
    assert page.locator("#progress").get_attribute("data-finished") == "false"
    gated.gate.set()
    page.wait_for_selector("svg rect.box", timeout=20_000)  # the page polled and reloaded itself
    assert "待人工核对" in page.content() or "缺少" in page.content()
    assert "1101**********002X" in page.content() and VALID_ID not in page.content()
    assert serious_violations(page) == [], "result"
    citizen.close()

    clerk = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = clerk.new_page()
    page.goto(f"{server}/login?next=/review")
    page.get_by_label("用户名").fill(seeded["clerk_a"])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/review")
    assert serious_violations(page) == [], "queue"
    page.get_by_role("link", name="内地居民结婚登记").click()
    page.wait_for_url("**/review/*")
    assert VALID_ID in page.content()
    assert serious_violations(page) == [], "review detail"
    finding = page.locator("#finding-1")
    finding.get_by_label("推翻（预审有误）").check()
    finding.get_by_label("理由").fill("照片清晰")
    finding.get_by_role("button", name="保存").click()
    page.wait_for_url("**/review/*#finding-1")
    assert page.locator("table").last.inner_text().count("照片清晰") == 1
    clerk.close()
