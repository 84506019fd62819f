"""The hotline's layout extends guides' layout instead of copying it, and frames guides' pages too."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hotline.web.templating import create_templates
from tests.conftest import REPO_ROOT


def test_the_hotline_layout_extends_the_guides_layout() -> None:
    layout = (REPO_ROOT / "hotline" / "templates" / "base.html").read_text(encoding="utf-8")
    assert layout.startswith('{% extends "guides/base.html" %}')
    assert "<head>" not in layout and "skip-link" not in layout and "<footer" not in layout
    environment = create_templates().env
    assert environment.get_template("guides/base.html").filename.endswith("guides/templates/base.html")
    assert environment.get_template("base.html").filename.endswith("hotline/templates/base.html")


def test_pages_have_one_frame_with_both_stylesheets_and_the_hotline_navigation(
    client: TestClient, seeded: dict[str, str]
) -> None:
    for path in ("/", "/login", "/guides/mzj-jhdj", "/search?q=结婚"):
        html = client.get(path).text
        assert html.count("<head>") == 1 and html.count('class="skip-link"') == 1, path
        guides_css = html.index('href="/static/guides/guides.css"')
        assert guides_css < html.index('href="/static/hotline/hotline.css"') < html.index("</head>"), path
        assert 'href="/submissions"' in html and 'href="/login"' in html, path
        assert html.count("<footer") == 1, path
