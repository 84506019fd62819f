"""The one Jinja2 environment of the project, and the public guide pages rendered with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from guides.schema import Fee, MaterialForm, Service, TimeLimit, parse_condition

MaterialStatus = Literal["ok", "missing", "defective", "uncertain"]
MATERIAL_STATUSES: tuple[str, ...] = ("ok", "missing", "defective", "uncertain")

FACT_LABELS: dict[str, str] = {
    "is_agent": "委托他人代为办理",
    "is_married": "申请人已婚",
    "has_disability": "家庭成员有残疾或重病",
    "is_referral": "经转诊转院就医",
    "is_migrant": "非本市户籍（随迁）",
}

FORM_LABELS: dict[MaterialForm, str] = {
    MaterialForm.original: "原件",
    MaterialForm.copy: "复印件",
    MaterialForm.original_and_copy: "原件及复印件",
    MaterialForm.electronic: "电子材料",
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("已通过", "Passed"),
    "missing": ("缺少", "Missing"),
    "defective": ("需更正", "Needs fixing"),
    "uncertain": ("待人工核对", "To be checked by staff"),
    "unchecked": ("尚未检查", "Not checked yet"),
}


def static_dir() -> Path:
    """Folder holding the guide stylesheets, for an app to serve as static files."""
    return Path(str(resources.files("guides") / "static"))


def stylesheet() -> str:
    """The guide stylesheet (screen and print) as text, for pages that inline it."""
    return (resources.files("guides") / "static" / "guides.css").read_text(encoding="utf-8")


def describe_condition(expression: str) -> str:
    """A condition expression in plain Chinese, e.g. ``applicant.is_agent`` → 委托他人代为办理."""
    words = {"and": "且", "or": "或", "not": "非", "(": "（", ")": "）"}
    parts = []
    for token in parse_condition(expression):
        if token.startswith("applicant."):
            fact = token.removeprefix("applicant.")
            parts.append(FACT_LABELS.get(fact, fact))
        else:
            parts.append(words[token])
    return " ".join(parts).replace("（ ", "（").replace(" ）", "）")


def describe_time_limit(limit: TimeLimit) -> str:
    """Time limits as one line, e.g. 法定 15 个工作日，承诺 3 个工作日."""
    def days(value: int) -> str:
        return "即办（当场办结）" if value == 0 else f"{value} 个工作日"

    parts = []
    if limit.legal_working_days is not None:
        parts.append(f"法定 {days(limit.legal_working_days)}")
    if limit.promised_working_days is not None:
        parts.append(f"承诺 {days(limit.promised_working_days)}")
    text = "，".join(parts) or "未公布"
    return f"{text}（{limit.note}）" if limit.note else text


def describe_fee(fee: Fee) -> str:
    """The fee as one line, e.g. 不收费 or 20 元."""
    if fee.free:
        text = "不收费"
    elif fee.amount_yuan is not None:
        text = f"{fee.amount_yuan:g} 元"
    else:
        text = "收费（见说明）"
    details = "；".join(part for part in (fee.basis, fee.note) if part)
    return f"{text}（{details}）" if details else text


def create_environment(
    *extra_loaders: BaseLoader,
    static_url: str = "/static/guides/",
    guide_url: str = "/guides/{code}",
    search_url: str = "/guides/search",
    index_url: str = "/guides/",
    inline_css: bool = False,
) -> Environment:
    """The Jinja2 environment: extra loaders first, then the guide templates (also named ``guides/<name>``).

    An extra loader's ``base.html`` frames the guide pages too; it extends ``guides/base.html`` and overrides
    its blocks (``title``, ``stylesheets``, ``head``, ``nav``, ``content``, ``footer``).
    """
    guide_templates = PackageLoader("guides", "templates")
    env = Environment(
        loader=ChoiceLoader([PrefixLoader({"guides": guide_templates}), *extra_loaders, guide_templates]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        guides_static_url=static_url,
        guides_search_url=search_url,
        guides_index_url=index_url,
        # The stylesheet is package data, not user input; escaping would break its quoted font names.
        guides_inline_css=Markup(stylesheet()) if inline_css else None,
        guide_href=lambda code: guide_url.format(code=code),
        form_label=lambda form: FORM_LABELS[MaterialForm(form)],
        status_label=lambda status: STATUS_LABELS[status],
    )
    env.filters.update(
        condition_text=describe_condition,
        time_limit_text=describe_time_limit,
        fee_text=describe_fee,
    )
    return env


@cache
def _default_environment() -> Environment:
    return create_environment()


def _env(env: Environment | None) -> Environment:
    return env if env is not None else _default_environment()


def group_by_department(services: Iterable[Service]) -> list[tuple[str, list[Service]]]:
    """Services grouped by department, departments and services in name order."""
    groups: dict[str, list[Service]] = {}
    for service in services:
        groups.setdefault(service.department, []).append(service)
    return [(name, sorted(items, key=lambda s: (s.name, s.code))) for name, items in sorted(groups.items())]


def render_guide(service: Service, *, env: Environment | None = None) -> str:
    """The public guide (办事指南) page of one service."""
    return _env(env).get_template("guide.html").render(service=service)


def render_index(services: Iterable[Service], *, env: Environment | None = None) -> str:
    """The catalog page: every service, grouped by department."""
    services = list(services)
    return _env(env).get_template("index.html").render(groups=group_by_department(services), total=len(services))


def render_search(query: str, results: Sequence[Any], *, env: Environment | None = None) -> str:
    """The search page for a query; ``results`` are hits with ``.service`` and ``.score``."""
    return _env(env).get_template("search.html").render(query=query, results=list(results))


def condition_facts(service: Service) -> list[str]:
    """Names of the applicant facts this service's material conditions ask about, sorted."""
    return sorted({
        token.removeprefix("applicant.")
        for material in service.materials if material.condition
        for token in parse_condition(material.condition) if token.startswith("applicant.")
    })


def checklist_context(
    service: Service,
    facts: Mapping[str, Any],
    *,
    statuses: Mapping[str, MaterialStatus] | None = None,
    application_date: dt.date | None = None,
) -> dict[str, Any]:
    """The variables ``checklist.html`` renders, for apps whose templates extend it."""
    statuses = dict(statuses or {})
    unknown = sorted(set(statuses.values()) - set(MATERIAL_STATUSES))
    if unknown:
        raise ValueError(f"unknown material status {unknown[0]!r}; allowed: {', '.join(MATERIAL_STATUSES)}")
    facts = dict(facts)
    rows = [(material, statuses.get(material.id, "unchecked")) for material in service.required_materials(facts)]
    return {
        "service": service,
        "rows": rows,
        "counts": {status: sum(1 for _, s in rows if s == status) for status in (*MATERIAL_STATUSES, "unchecked")},
        "optional": [m for m in service.materials if not m.required and m.applies_to(facts)],
        "not_needed": [m for m in service.materials if not m.applies_to(facts)],
        "stated_facts": [FACT_LABELS.get(fact, fact) for fact, value in facts.items() if value],
        "reviewed": bool(statuses),
        "application_date": application_date,
    }


def render_checklist(
    service: Service,
    facts: Mapping[str, Any],
    *,
    statuses: Mapping[str, MaterialStatus] | None = None,
    application_date: dt.date | None = None,
    env: Environment | None = None,
) -> str:
    """A personalised checklist: the materials this applicant needs and, after pre-review, their status."""
    context = checklist_context(service, facts, statuses=statuses, application_date=application_date)
    return _env(env).get_template("checklist.html").render(**context)
