"""Routes: the citizen's upload and result pages, the clerk's review queue, and the same under /api/v1."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from guides import MATERIAL_STATUSES, Service, checklist_context, condition_facts
from guides.rendering import FACT_LABELS
from hotline.catalog import get_service_version, service_from_row
from hotline.db import session_scope
from hotline.errors import PermissionDeniedError
from hotline.jobs import Job
from hotline.models import ServiceVersion
from hotline.submissions.errors import FilesPurgedError, SubmissionNotFoundError
from hotline.submissions.models import FLAGGED_STATUSES, Decision, Submission
from hotline.submissions.retention import PURGED_NOTICE
from hotline.submissions.runtime import get_runtime, get_templates, submissions_lifespan
from hotline.submissions.schemas import DecisionCreate, DecisionRead, SubmissionCreated, SubmissionRead, SubmissionSummary
from hotline.submissions.service import (
    FORM_FIELDS,
    create_submission,
    decide_finding,
    export_decisions,
    get_citizen_submission,
    get_submission,
    list_citizen_submissions,
    list_review_queue,
)
from hotline.submissions.uploads import parse_upload
from hotline.submissions.views import (
    DECISION_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    UNFINISHED,
    finding_views,
    pages_with_findings,
    sees_full_numbers,
    submission_read,
    summary,
)
from hotline.submissions.masking import mask_form
from hotline.web.deps import (
    CurrentPrincipal,
    DbSession,
    Principal,
    PrincipalKind,
    RequireStaff,
    citizen_session,
    ensure_department_access,
)

CSRF_COOKIE = "csrftoken"  # the cookie asgi-csrf sets (hotline.web.app.CSRF_COOKIE; not imported: app imports us)
CITY_TIMEZONE = ZoneInfo("Asia/Shanghai")
FORM_LABELS = {
    "name": "申请人姓名 / Applicant name",
    "id_number": "身份证号码 / Resident ID number",
    "uscc": "统一社会信用代码 / Unified social credit code",
    "legal_representative": "法定代表人 / Legal representative",
    "phone": "联系电话 / Phone",
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["service", "files"],
            "properties": {
                "service": {"type": "string", "description": "Service code (current version is used)"},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                "facts": {"type": "array", "items": {"type": "string"}, "description": "Applicant facts that hold"},
                **{name: {"type": "string"} for name in FORM_FIELDS},
            },
        }}},
    }
}

router = APIRouter(lifespan=submissions_lifespan)
Citizen = Annotated[Principal, Depends(citizen_session)]


def _render(request: Request, name: str, *, principal: Principal, status_code: int = 200, **context: Any) -> HTMLResponse:
    return get_templates(request).TemplateResponse(
        request, name, {"principal": principal, **context}, status_code=status_code
    )


def _image_url(request: Request, submission: Submission) -> str:
    """The page-image URL of this submission as a pattern with ``{index}``."""
    first = request.url_for("submission_page_image", reference=submission.reference, index=0).path
    return first.rsplit("/", 1)[0] + "/{index}"


def _job(request: Request, db: DbSession, submission: Submission) -> Job | None:
    if submission.job_id is None:
        return None
    return get_runtime(request).queue.status(db, job_id=submission.job_id)


def _today() -> dt.date:
    return dt.datetime.now(CITY_TIMEZONE).date()


async def _receive_upload(
    request: Request, principal: Principal, code: str | None, *, form_csrf: bool = False
) -> Submission:
    """Stream the upload in, store it and enqueue the pre-review; the shared body of the HTML and API uploads.

    ``form_csrf`` also demands the form's ``csrftoken`` field match the CSRF cookie, so the HTML upload stays
    protected where the CSRF middleware is told to skip multipart bodies.
    """
    if principal.citizen_id is None:
        raise PermissionDeniedError("工作人员账号不能提交申请，请退出后再试 / staff accounts cannot submit applications")
    runtime = get_runtime(request)
    upload = await parse_upload(
        content_type=request.headers.get("content-type", ""), stream=request.stream(),
        max_file_bytes=runtime.settings.max_file_bytes, max_files=runtime.settings.max_files,
        max_field_chars=runtime.settings.max_field_chars,
    )
    try:
        if form_csrf:
            expected = request.cookies.get(CSRF_COOKIE, "")
            if not expected or not secrets.compare_digest(upload.first("csrftoken"), expected):
                raise PermissionDeniedError(
                    "表单已过期，请刷新页面后重试 / CSRF check failed", code="csrf_failed"
                )
        service_code = code or upload.first("service")

        def store() -> Submission:
            with session_scope(request.app.state.session_factory) as session:
                row = get_service_version(session, code=service_code)
                return create_submission(
                    session, row=row, citizen_id=str(principal.citizen_id), upload=upload, store=runtime.store,
                    queue=runtime.queue, application_date=_today(),
                )

        return await run_in_threadpool(store)
    finally:
        upload.close()


# ---- citizen pages -------------------------------------------------------------------------------------------


@router.get("/apply/{code}", response_class=HTMLResponse, include_in_schema=False)
def submission_form_page(code: str, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """The upload form for the current version of a service."""
    row = get_service_version(db, code=code)
    service = service_from_row(row)
    runtime = get_runtime(request)
    return _render(
        request, "submissions/apply.html", principal=principal, title=f"在线预审：{service.name}", service=service,
        version=row.version, facts=[{"name": n, "label": FACT_LABELS.get(n, n)} for n in condition_facts(service)],
        form_labels=FORM_LABELS, max_file_mb=runtime.settings.max_file_mb, max_files=runtime.settings.max_files,
    )


@router.post("/apply/{code}", include_in_schema=False)
async def submission_form_submit(code: str, request: Request, principal: Citizen) -> RedirectResponse:
    """Receive the form upload and go to the result page."""
    submission = await _receive_upload(request, principal, code, form_csrf=True)
    return RedirectResponse(
        request.url_for("submission_page", reference=submission.reference).path, status_code=303
    )


@router.get("/submissions", response_class=HTMLResponse, include_in_schema=False)
def my_submissions_page(request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """The citizen's own submissions in this browser session."""
    rows = list_citizen_submissions(db, citizen_id=principal.citizen_id) if principal.citizen_id else []
    return _render(
        request, "submissions/mine.html", principal=principal, title="我的预审申请", submissions=rows,
        status_labels=STATUS_LABELS,
    )


def _checklist_context(service: Service, submission: Submission) -> dict[str, Any]:
    statuses = {
        item["material"]: item["status"]
        for item in (submission.report or {}).get("materials") or []
        if item.get("status") in MATERIAL_STATUSES
    }
    return checklist_context(
        service, submission.facts, statuses=statuses, application_date=submission.application_date
    )


@router.get("/submissions/{reference}", response_class=HTMLResponse, include_in_schema=False)
def submission_page(reference: str, request: Request, db: DbSession, principal: Citizen) -> HTMLResponse:
    """Progress, then the result: findings boxed on the page images, fix-it messages, the checklist."""
    submission = get_citizen_submission(db, reference=reference, citizen_id=principal.citizen_id)
    row = db.get(ServiceVersion, submission.service_version_id)
    assert row is not None
    service = service_from_row(row)
    findings = finding_views(submission, staff=False)
    return _render(
        request, "submissions/result.html", principal=principal, submission=submission,
        findings=findings, pages=pages_with_findings(submission, findings, _image_url(request, submission)),
        form=mask_form(submission.form), form_labels=FORM_LABELS, current_status=STATUS_LABELS[submission.status],
        finished=submission.status not in UNFINISHED, severity_labels=SEVERITY_LABELS,
        poll_ms=get_runtime(request).settings.progress_poll_ms, purged_notice=PURGED_NOTICE,
        progress_url=request.url_for("api_get_submission", reference=reference).path,
        **_checklist_context(service, submission),
    )


@router.get("/submissions/{reference}/pages/{index}", include_in_schema=False)
def submission_page_image(reference: str, index: int, request: Request, db: DbSession, principal: CurrentPrincipal) -> Response:
    """A page preview, for the submitting citizen and the staff of the department."""
    if principal.is_staff:
        submission = get_submission(db, reference=reference)
        ensure_department_access(principal, submission.department)
    else:
        submission = get_citizen_submission(db, reference=reference, citizen_id=principal.citizen_id)
    if submission.files_purged_at is not None:
        raise FilesPurgedError(PURGED_NOTICE)
    pages = submission.pages or []
    if not 0 <= index < len(pages):
        raise SubmissionNotFoundError("没有这一页 / no such page", code="page_not_found")
    data = get_runtime(request).store.read(pages[index]["preview"])
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})


# ---- clerk pages ---------------------------------------------------------------------------------------------


def _departments(principal: Principal) -> frozenset[str] | None:
    return None if principal.kind is PrincipalKind.admin else principal.departments


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def review_queue_page(
    request: Request, db: DbSession, principal: RequireStaff,
    flag: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Flagged submissions of the clerk's departments."""
    rows = list_review_queue(db, departments=_departments(principal), flag=flag or None)
    return _render(
        request, "submissions/queue.html", principal=principal, title="预审复核队列",
        items=[summary(s, principal=principal) for s in rows], flag=flag or "", flags=FLAGGED_STATUSES,
        status_labels=STATUS_LABELS,
    )


def _review_submission(db: DbSession, principal: Principal, reference: str) -> Submission:
    submission = get_submission(db, reference=reference)
    ensure_department_access(principal, submission.department)
    return submission


@router.get("/review/{reference}", response_class=HTMLResponse, include_in_schema=False)
def review_detail_page(reference: str, request: Request, db: DbSession, principal: RequireStaff) -> HTMLResponse:
    """One submission with the evidence on its pages and a decision form per finding."""
    submission = _review_submission(db, principal, reference)
    findings = finding_views(submission, staff=True)
    full = sees_full_numbers(principal, submission)
    return _render(
        request, "submissions/review.html", principal=principal, title=f"复核：{submission.service_name}",
        submission=submission, findings=findings,
        pages=pages_with_findings(submission, findings, _image_url(request, submission)),
        form=dict(submission.form) if full else mask_form(submission.form), form_labels=FORM_LABELS,
        current_status=STATUS_LABELS[submission.status], severity_labels=SEVERITY_LABELS,
        decision_labels=DECISION_LABELS, decisions=list(reversed(submission.decisions)),
        finished=submission.status not in UNFINISHED, error=request.query_params.get("error"),
        purged_notice=PURGED_NOTICE,
    )


@router.post("/review/{reference}/findings/{index}", include_in_schema=False)
def review_decision_submit(
    reference: str,
    index: int,
    request: Request,
    db: DbSession,
    principal: RequireStaff,
    decision: Annotated[Decision, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> RedirectResponse:
    """Record the decision and go back to the submission."""
    submission = _review_submission(db, principal, reference)
    decide_finding(
        db, submission=submission, index=index, decision=decision, reason=reason, actor=principal.username or ""
    )
    target = request.url_for("review_detail_page", reference=reference).path
    return RedirectResponse(f"{target}#finding-{index}", status_code=303)


# ---- JSON API ------------------------------------------------------------------------------------------------


@router.post(
    "/api/v1/submissions", status_code=202, response_model=SubmissionCreated, tags=["submissions"],
    openapi_extra=UPLOAD_BODY,
)
async def api_create_submission(request: Request, principal: Citizen) -> SubmissionCreated:
    """Upload files for a service (multipart); the pre-review runs in the background."""
    submission = await _receive_upload(request, principal, None)
    return SubmissionCreated(
        reference=submission.reference, status=submission.status,
        progress_url=request.url_for("api_get_submission", reference=submission.reference).path,
        result_url=request.url_for("submission_page", reference=submission.reference).path,
    )


@router.get("/api/v1/submissions/{reference}", response_model=SubmissionRead, tags=["submissions"])
def api_get_submission(reference: str, request: Request, db: DbSession, principal: CurrentPrincipal) -> SubmissionRead:
    """Progress and result of the caller's own submission (numbers masked)."""
    submission = get_citizen_submission(db, reference=reference, citizen_id=principal.citizen_id)
    return submission_read(
        submission, principal=principal, staff=False, image_url=_image_url(request, submission),
        result_url=request.url_for("submission_page", reference=reference).path, job=_job(request, db, submission),
    )


@router.get("/api/v1/review/submissions", response_model=list[SubmissionSummary], tags=["review"])
def api_review_queue(
    db: DbSession, principal: RequireStaff, flag: Annotated[str | None, Query(max_length=20)] = None
) -> list[SubmissionSummary]:
    """Flagged submissions of the caller's departments (admins: all)."""
    return [summary(s, principal=principal) for s in list_review_queue(db, departments=_departments(principal), flag=flag)]


@router.get("/api/v1/review/submissions/{reference}", response_model=SubmissionRead, tags=["review"])
def api_review_submission(reference: str, request: Request, db: DbSession, principal: RequireStaff) -> SubmissionRead:
    """One submission with technical details; full numbers only for the clerk of its department."""
    submission = _review_submission(db, principal, reference)
    return submission_read(
        submission, principal=principal, staff=True, image_url=_image_url(request, submission),
        result_url=request.url_for("review_detail_page", reference=reference).path, job=_job(request, db, submission),
    )


@router.post(
    "/api/v1/review/submissions/{reference}/findings/{index}", response_model=DecisionRead, tags=["review"]
)
def api_decide_finding(
    reference: str, index: int, body: DecisionCreate, db: DbSession, principal: RequireStaff
) -> DecisionRead:
    """Accept or override one finding, with a reason (required to override)."""
    submission = _review_submission(db, principal, reference)
    row = decide_finding(
        db, submission=submission, index=index, decision=body.decision, reason=body.reason,
        actor=principal.username or "",
    )
    return DecisionRead(
        id=row.id, at=row.at, actor=row.actor, finding_index=row.finding_index, finding_code=row.finding_code,
        decision=row.decision, reason=row.reason, before=row.before, after=row.after,
        submission_status=submission.status,
    )


@router.get("/api/v1/review/export.jsonl", tags=["review"], response_class=StreamingResponse)
def api_export_decisions(request: Request, principal: RequireStaff) -> StreamingResponse:
    """Clerk decisions as labelled JSON lines for retraining (the caller's departments; admins: all)."""
    departments = _departments(principal)
    factory = request.app.state.session_factory

    def lines() -> Iterator[bytes]:
        with session_scope(factory) as session:
            for item in export_decisions(session, departments=departments):
                yield (json.dumps(item, ensure_ascii=False) + "\n").encode("utf-8")

    return StreamingResponse(
        lines(), media_type="application/jsonl",
        headers={"content-disposition": 'attachment; filename="review-decisions.jsonl"'},
    )
