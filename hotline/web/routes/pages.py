"""Public pages: catalog by department, guides, versions, search, personalised checklists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from guides import checklist_context, condition_facts, describe_condition
from hotline.catalog import (
    ServiceSummary,
    count_services,
    get_service_version,
    list_departments,
    list_service_summaries,
    list_versions,
    service_from_row,
)
from hotline.errors import NotFoundError
from hotline.web.deps import DbSession, Principal, citizen_session
from hotline.web.templating import render

router = APIRouter(include_in_schema=False)

Citizen = Annotated[Principal, Depends(citizen_session)]


@router.get("/healthz", response_class=PlainTextResponse)
def healthz(db: DbSession) -> str:
    """Liveness and database check for the load balancer."""
    db.connection()
    return "ok"


def _groups(summaries: list[ServiceSummary]) -> list[tuple[str, list[ServiceSummary]]]:
    groups: dict[str, list[ServiceSummary]] = {}
    for summary in summaries:
        groups.setdefault(summary.department, []).append(summary)
    return sorted(groups.items())


@router.get("/", response_class=HTMLResponse)
def index_page(request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """The catalog by department: every service, or a department directory when the catalog is large."""
    total = count_services(db)
    if total > request.app.state.settings.index_full_list_max:
        return render(request, "departments.html", principal=principal, departments=list_departments(db), total=total)
    summaries = list_service_summaries(db)
    return render(request, "index.html", principal=principal, groups=_groups(summaries), total=len(summaries))


@router.get("/departments/{department}", response_class=HTMLResponse)
def department_page(department: str, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """Services of one department."""
    summaries = list_service_summaries(db, department=department)
    if not summaries:
        raise NotFoundError(f"未找到部门 {department} / department not found", code="department_not_found")
    return render(request, "index.html", principal=principal, groups=_groups(summaries), total=len(summaries))


def _guide(request: Request, db: DbSession, principal: Principal, code: str, version: int | None) -> HTMLResponse:
    row = get_service_version(db, code=code, version=version)
    return render(
        request,
        "guide_page.html",
        principal=principal,
        service=service_from_row(row),
        is_current=row.is_current,
        can_edit=principal.can_access_department(row.department),
    )


@router.get("/guides/{code}", response_class=HTMLResponse)
def guide_page(code: str, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """The current guide of a service."""
    return _guide(request, db, principal, code, None)


@router.get("/guides/{code}/v/{version}", response_class=HTMLResponse)
def guide_version_page(code: str, version: int, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """A past (or the current) version of a guide, exactly as it was published."""
    return _guide(request, db, principal, code, version)


@router.get("/guides/{code}/versions", response_class=HTMLResponse)
def versions_page(code: str, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """Every version of a service."""
    versions = list_versions(db, code=code)
    return render(
        request, "versions.html", principal=principal, title=f"{versions[0].name} 版本", code=code, versions=versions
    )


@router.get("/guides/{code}/checklist", response_class=HTMLResponse)
def checklist_page(code: str, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """The materials this citizen must bring, given the facts ticked (``?is_agent=1``)."""
    service = service_from_row(get_service_version(db, code=code))
    truthy = {"1", "true", "on", "yes"}
    facts = {name: request.query_params.get(name, "").lower() in truthy for name in condition_facts(service)}
    choices = [
        {"name": name, "label": describe_condition(f"applicant.{name}"), "checked": facts[name]} for name in facts
    ]
    return render(
        request, "checklist_page.html", principal=principal, facts=choices, **checklist_context(service, facts)
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, db: DbSession, principal: Citizen, q: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    """Search results page."""
    results = request.app.state.search.search(db, query=q, limit=request.app.state.settings.search_limit)
    return render(request, "search.html", principal=principal, query=q, results=results)
