"""Staff pages: the console and the catalog edit form (admins: every service; clerks: their departments')."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hotline.catalog import edit_service, get_service_version, list_audit, list_current_services
from hotline.errors import HotlineError, ValidationFailedError
from hotline.web.deps import DbSession, Principal, PrincipalKind, RequireStaff, ensure_department_access
from hotline.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/console", response_class=HTMLResponse)
def console_page(request: Request, db: DbSession, principal: RequireStaff) -> HTMLResponse:
    """What this staff member manages, and recent changes there."""
    departments = None if principal.kind is PrincipalKind.admin else sorted(principal.departments)
    rows = (
        list_current_services(db)
        if departments is None
        else [row for department in departments for row in list_current_services(db, department=department)]
    )
    by_department: dict[str, list[Any]] = {}
    for row in rows:
        by_department.setdefault(row.department, []).append(row)
    return render(
        request,
        "console.html",
        principal=principal,
        title="工作台",
        by_department=sorted(by_department.items()),
        audit=list_audit(db, departments=departments, limit=30),
    )


def check_edit_access(principal: Principal, *, current_department: str, new_department: str) -> None:
    """Staff may edit services of departments they reach, and only move them to such departments."""
    ensure_department_access(principal, current_department)
    if new_department != current_department:
        ensure_department_access(principal, new_department)


def _form_from_service(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "department": data["department"],
        "aliases": "\n".join(data["aliases"]),
        "conditions": "\n".join(data["conditions"]),
        "promised_working_days": data["time_limit"].get("promised_working_days") or "",
        "consultation_phone": data.get("consultation_phone") or "",
        "materials": yaml.safe_dump(data["materials"], allow_unicode=True, sort_keys=False)
        if data["materials"]
        else "",
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def changes_from_form(form: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """Service field changes from the edit form; ``ValidationFailedError`` on unreadable input."""
    days_text = form["promised_working_days"].strip()
    if days_text and not days_text.isdigit():
        raise ValidationFailedError("promised_working_days: 请填写整数 / must be a whole number")
    try:
        materials = yaml.safe_load(form["materials"]) if form["materials"].strip() else []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行 / line {mark.line + 1}" if mark else ""
        raise ValidationFailedError(f"materials: YAML 格式错误 {where} / not valid YAML") from None
    if not isinstance(materials, list):
        raise ValidationFailedError("materials: 须为材料列表 / must be a YAML list")
    return {
        "name": form["name"].strip(),
        "department": form["department"].strip(),
        "aliases": _lines(form["aliases"]),
        "conditions": _lines(form["conditions"]),
        "time_limit": {**current["time_limit"], "promised_working_days": int(days_text) if days_text else None},
        "consultation_phone": form["consultation_phone"].strip() or None,
        "materials": materials,
    }


@router.get("/admin/guides/{code}/edit", response_class=HTMLResponse)
def edit_page(code: str, request: Request, db: DbSession, principal: RequireStaff) -> HTMLResponse:
    """The edit form for a service's current version."""
    row = get_service_version(db, code=code)
    ensure_department_access(principal, row.department)
    return render(
        request,
        "edit.html",
        principal=principal,
        title=f"编辑 {row.name}",
        code=code,
        form=_form_from_service(row.data),
        next_version=row.version + 1,
        can_change_department=principal.kind is PrincipalKind.admin,
    )


@router.post("/admin/guides/{code}/edit", response_model=None)
def edit_submit(
    code: str,
    request: Request,
    db: DbSession,
    principal: RequireStaff,
    name: Annotated[str, Form(max_length=500)],
    department: Annotated[str, Form(max_length=200)],
    aliases: Annotated[str, Form(max_length=5000)] = "",
    conditions: Annotated[str, Form(max_length=20000)] = "",
    promised_working_days: Annotated[str, Form(max_length=10)] = "",
    consultation_phone: Annotated[str, Form(max_length=100)] = "",
    materials: Annotated[str, Form(max_length=100000)] = "",
) -> HTMLResponse | RedirectResponse:
    """Save the form as a new version and show it."""
    row = get_service_version(db, code=code)
    form = {
        "name": name,
        "department": department,
        "aliases": aliases,
        "conditions": conditions,
        "promised_working_days": promised_working_days,
        "consultation_phone": consultation_phone,
        "materials": materials,
    }
    check_edit_access(principal, current_department=row.department, new_department=department.strip())
    try:
        stored = edit_service(db, code=code, changes=changes_from_form(form, row.data), actor=principal.username or "")
    except HotlineError as exc:
        if exc.status_code != 422:
            raise
        db.rollback()
        return render(
            request,
            "edit.html",
            principal=principal,
            title=f"编辑 {row.name}",
            code=code,
            form=form,
            next_version=row.version + 1,
            can_change_department=principal.kind is PrincipalKind.admin,
            error=exc.message,
            status_code=422,
        )
    return RedirectResponse(
        request.url_for("guide_version_page", code=code, version=stored.version).path, status_code=303
    )
