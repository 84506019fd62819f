"""The rendered pages in real Chromium: axe-core finds no serious or critical violations; keyboard and print work."""

from __future__ import annotations


import pytest

from guides import create_environment, render_checklist, render_guide, render_index, render_search
from tests.browser import serious_violations

pytestmark = pytest.mark.browser


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def pages(demo_catalog, demo_index):
    env = create_environment(inline_css=True)
    by_code = {service.code: service for service in demo_catalog}
    statuses = {"application_form": "ok", "operator_id_card": "defective", "premises_proof": "missing",
                "agent_authorisation": "uncertain"}
    return {
        "index": render_index(demo_catalog, env=env),
        "guide": render_guide(by_code["scjg-spjy-xk"], env=env),
        "search": render_search("开饭店", demo_index.search("开饭店", limit=5), env=env),
        "search-empty": render_search("火星签证", [], env=env),
        "checklist": render_checklist(by_code["scjg-gtgsh-sl"], {"is_agent": True}, statuses=statuses, env=env),
    }


@pytest.mark.parametrize("name", ["index", "guide", "search", "search-empty", "checklist"])
def test_no_serious_or_critical_axe_violations(page, pages, name):
    page.set_content(pages[name])
    assert serious_violations(page) == []


def test_axe_does_flag_a_bad_page(page):
    page.set_content('<html><body><p style="color:#bbb;background:#fff">低对比度</p><input type="text"></body></html>')
    assert {"color-contrast", "label"} <= {rule for rule, _ in serious_violations(page)}


def test_keyboard_skip_link_and_visible_focus(page, pages):
    page.set_content(pages["guide"])
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_print_stylesheet_hides_navigation(page, pages):
    page.set_content(pages["guide"])
    assert page.locator(".site-nav").is_visible()
    page.emulate_media(media="print")
    assert not page.locator(".site-nav").is_visible()
    assert not page.locator(".skip-link").is_visible()
    assert page.locator("table.materials").is_visible()


def test_guide_screenshot_renders_chinese(page, pages, tmp_path):
    page.set_content(pages["guide"])
    shot = tmp_path / "guide.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    assert page.locator("h1").inner_text() == "食品经营许可"
    assert "Noto Sans CJK SC" in page.evaluate("getComputedStyle(document.body).fontFamily")
