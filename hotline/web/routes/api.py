"""JSON API under /api/v1 (OpenAPI at /docs): read the catalog; staff edit it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from guides import Service
from hotline.catalog import (
    count_services,
    get_service_version,
    list_audit,
    list_current_services,
    list_departments,
    list_versions,
    parse_service,
    store_service_version,
)
from hotline.errors import HotlineError
from hotline.models import ServiceVersion
from hotline.web.deps import CurrentPrincipal, DbSession, RequireAdmin, RequireStaff, ensure_department_access
from hotline.web.routes.admin import check_edit_access
from hotline.web.schemas import (
    AuditEntryRead,
    DepartmentRead,
    ErrorRead,
    MeRead,
    SearchHitRead,
    ServicePage,
    ServiceRead,
    ServiceVersionRead,
)

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorRead} for status in (401, 403, 404, 409, 422)}
router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=ERRORS)


def _read(row: ServiceVersion) -> ServiceRead:
    return ServiceRead.model_validate({**ServiceVersionRead.model_validate(row).model_dump(), "service": row.data})


@router.get("/services", response_model=ServicePage)
def api_list_services(
    request: Request,
    db: DbSession,
    department: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> ServicePage:
    """Current services, by department and name, a page at a time."""
    size = request.app.state.settings.page_size
    rows = list_current_services(db, department=department, offset=(page - 1) * size, limit=size)
    items = [ServiceVersionRead.model_validate(row) for row in rows]
    return ServicePage(items=items, total=count_services(db, department=department), page=page, page_size=size)


@router.get("/services/{code}", response_model=ServiceRead)
def api_get_service(code: str, db: DbSession) -> ServiceRead:
    """The current version of a service."""
    return _read(get_service_version(db, code=code))


@router.get("/services/{code}/versions", response_model=list[ServiceVersionRead])
def api_list_versions(code: str, db: DbSession) -> list[ServiceVersionRead]:
    """Every version of a service, newest first."""
    return [ServiceVersionRead.model_validate(row) for row in list_versions(db, code=code)]


@router.get("/services/{code}/versions/{version}", response_model=ServiceRead)
def api_get_version(code: str, version: int, db: DbSession) -> ServiceRead:
    """One version of a service, as published."""
    return _read(get_service_version(db, code=code, version=version))


@router.get("/search", response_model=list[SearchHitRead])
def api_search(
    request: Request,
    db: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[SearchHitRead]:
    """Services best matching a citizen's words, best first."""
    results = request.app.state.search.search(db, query=q, limit=limit)
    return [
        SearchHitRead(code=h.service.code, name=h.service.name, department=h.service.department, score=h.score)
        for h in results
    ]


@router.get("/departments", response_model=list[DepartmentRead])
def api_departments(db: DbSession) -> list[DepartmentRead]:
    """Departments and their number of services."""
    return [DepartmentRead(department=d, services=n) for d, n in list_departments(db)]


@router.post("/services", response_model=ServiceRead, status_code=201)
def api_create_service(service: Service, db: DbSession, principal: RequireAdmin) -> ServiceRead:
    """Add a new service (admins)."""
    exists = db.scalar(select(func.count()).where(ServiceVersion.code == service.code))
    if exists:
        raise HotlineError(f"事项 {service.code} 已存在 / service exists", code="service_exists", status_code=409)
    return _read(store_service_version(db, service=service, actor=principal.username, action="service_created"))


@router.put("/services/{code}", response_model=ServiceRead)
def api_replace_service(code: str, body: dict[str, Any], db: DbSession, principal: RequireStaff) -> ServiceRead:
    """Publish a new version of a service (admins; clerks for their departments). The body is the full service."""
    current = get_service_version(db, code=code)
    ensure_department_access(principal, current.department)
    service = parse_service({**body, "code": body.get("code", code)})
    if service.code != code:
        raise HotlineError("code: 事项编码不可修改 / the code cannot change", code="validation_failed", status_code=422)
    check_edit_access(principal, current_department=current.department, new_department=service.department)
    return _read(store_service_version(db, service=service, actor=principal.username, action="service_edited"))


@router.get("/departments/{department}/audit", response_model=list[AuditEntryRead])
def api_department_audit(department: str, db: DbSession, principal: CurrentPrincipal) -> list[AuditEntryRead]:
    """Recent changes to a department's services (admins; that department's clerks)."""
    ensure_department_access(principal, department)
    return [AuditEntryRead.model_validate(entry) for entry in list_audit(db, departments=[department])]


@router.get("/me", response_model=MeRead)
def api_me(request: Request, principal: CurrentPrincipal) -> MeRead:
    """Who is asking, and the CSRF token for session-authenticated writes."""
    return MeRead(
        kind=principal.kind.value,
        username=principal.username,
        departments=sorted(principal.departments),
        csrf_token=request.scope["csrftoken"](),
    )
