"""Templates: the hotline's pages and layout on top of guides' Jinja2 environment and guide templates."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import PackageLoader

from guides import create_environment
from hotline.web.deps import Principal

GUIDES_STATIC_URL = "/static/guides/"


def create_templates() -> Jinja2Templates:
    """Page templates: ``hotline/templates`` first (its ``base.html`` frames guides' pages), then guides'."""
    environment = create_environment(
        PackageLoader("hotline", "templates"),
        static_url=GUIDES_STATIC_URL,
        guide_url="/guides/{code}",
        search_url="/search",
        index_url="/",
    )
    return Jinja2Templates(env=environment)


def render(
    request: Request, name: str, *, principal: Principal, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render page ``name`` for ``principal``."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, {"principal": principal, **context}, status_code=status_code)
