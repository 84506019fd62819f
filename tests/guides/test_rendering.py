"""Rendering: the shared environment, the guide pages' content and structure."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from jinja2 import DictLoader

from guides import (
    checklist_context,
    condition_facts,
    SearchHit,
    create_environment,
    describe_condition,
    render_checklist,
    render_guide,
    render_index,
    render_search,
    static_dir,
    stylesheet,
)


class Outline(HTMLParser):
    """Collects headings, table header scopes and the html lang attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def catalog(demo_catalog):
    return {service.code: service for service in demo_catalog}


def assert_accessible_structure(html: str) -> None:
    page = outline(html)
    assert page.tags[0] == ("html", {"lang": "zh-CN"})
    assert page.count("h1") == 1
    assert ("a", {"class": "skip-link", "href": "#main"}) in page.tags
    assert all(attrs.get("scope") in ("col", "row") for tag, attrs in page.tags if tag == "th")
    assert page.count("table") == page.count("caption")


def test_guide_page_content(catalog):
    html = render_guide(catalog["scjg-gtgsh-sl"])
    assert_accessible_structure(html)
    for text in ("个体工商户设立登记", "经营者身份证", "委托他人代为办理时提交", "法定 15 个工作日，承诺 3 个工作日",
                 "不收费", "0000-12345101", "示例市中心区政务大道1号", "《促进个体工商户发展条例》第十条", "办营业执照"):
        assert text in html


def test_index_groups_by_department(demo_catalog):
    html = render_index(demo_catalog)
    assert_accessible_structure(html)
    assert outline(html).count("h2") == len({service.department for service in demo_catalog})
    assert html.index("公安局（户政）") < html.index("民政局")
    assert 'href="/guides/zfgjj-tq-zf"' in html


def test_search_page(catalog):
    html = render_search("提公积金", [SearchHit(catalog["zfgjj-tq-zf"], 3.2)])
    assert_accessible_structure(html)
    assert 'value="提公积金"' in html and "找到 1 个相关事项" in html
    assert "没有找到相关事项" in render_search("火星签证", [])
    assert "<script>" not in render_search("<script>alert(1)</script>", [])


def test_checklist_with_statuses(catalog):
    service = catalog["scjg-gtgsh-sl"]
    statuses = {"application_form": "ok", "operator_id_card": "defective", "premises_proof": "missing"}
    html = render_checklist(service, {"is_agent": False}, statuses=statuses)
    assert_accessible_structure(html)
    assert "您需要提交 3 项材料" in html
    assert "已通过 1 项，缺少 1 项，需更正 1 项" in html
    assert "您无需提交" in html and "委托书（仅在委托他人代为办理时需要）" in html
    assert "房屋租赁合同或房产证明" in html
    agent = render_checklist(service, {"is_agent": True})
    assert "您需要提交 5 项材料" in agent and "预审结果" not in agent and "尚未检查" in agent
    with pytest.raises(ValueError, match="unknown material status 'fine'"):
        render_checklist(service, {}, statuses={"application_form": "fine"})


def test_checklist_context_for_extending_templates(catalog):
    service = catalog["scjg-gtgsh-sl"]
    assert condition_facts(service) == ["is_agent"]
    assert condition_facts(catalog["mzj-jhdj"]) == []
    context = checklist_context(service, {"is_agent": True}, statuses={"agent_id_card": "missing"})
    assert [material.id for material, _ in context["rows"]][-1] == "agent_id_card"
    assert context["counts"]["missing"] == 1 and context["counts"]["unchecked"] == 4 and context["reviewed"]
    assert context["not_needed"] == [] and context["stated_facts"] == ["委托他人代为办理"]


def test_optional_materials_listed_separately(catalog):
    html = render_checklist(catalog["gaj-sfz-hl"], {})
    assert "视情况提交" in html and "居民户口簿：登记项目有变更时提交" in html


def test_environment_extension_reuses_base_layout(catalog):
    app_templates = DictLoader({
        "page.html": '{% extends "base.html" %}{% block title %}控制台{% endblock %}'
                     '{% block lang_switch %}<a href="?lang=en">English</a>{% endblock %}'
                     "{% block content %}<h1>控制台</h1>{% endblock %}",
        "guide.html": '{% extends "base.html" %}{% block content %}<h1>overridden</h1>{% endblock %}',
    })
    env = create_environment(app_templates, static_url="/assets/", guide_url="/services/{code}.html")
    page = env.get_template("page.html").render()
    assert "<title>控制台 · 示例市 12345</title>" in page and 'href="/assets/guides.css"' in page
    assert '<a href="?lang=en">English</a>' in page
    assert "overridden" in render_guide(catalog["mzj-jhdj"], env=env)
    index = render_index(catalog.values(), env=create_environment(guide_url="/services/{code}.html"))
    assert 'href="/services/mzj-jhdj.html"' in index


def test_autoescape_and_inline_css(catalog):
    service = catalog["mzj-jhdj"].model_copy(update={"name": "<b>结婚</b>"})
    html = render_guide(service, env=create_environment(inline_css=True))
    assert "<b>结婚</b>" not in html and "&lt;b&gt;结婚&lt;/b&gt;" in html
    assert "@media print" in html and "<link" not in html
    assert '"Noto Sans CJK SC"' in html and 'content: "✓ "' in html


def test_stylesheet_has_print_rules_and_focus_style():
    css = stylesheet()
    assert (static_dir() / "guides.css").is_file()
    assert "@media print" in css and ".site-nav" in css.split("@media print")[1]
    assert ":focus-visible" in css


def test_describe_condition():
    assert describe_condition("applicant.is_agent") == "委托他人代为办理"
    assert describe_condition("not (applicant.is_agent or applicant.custom_fact)") == "非 （委托他人代为办理 或 custom_fact）"
