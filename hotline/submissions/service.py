"""Submission service functions: create, read for the citizen, review queue, decisions, export.

Every function takes a ``Session`` and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guides import Service, condition_facts
from hotline.db.base import utcnow
from hotline.errors import ValidationFailedError
from hotline.jobs import JobQueue
from hotline.models import AuditLog, ServiceVersion
from hotline.submissions.errors import (
    FindingNotFoundError,
    NoFilesError,
    NotReviewableError,
    SubmissionNotFoundError,
)
from hotline.submissions.masking import mask_text
from hotline.submissions.models import (
    FLAGGED_STATUSES,
    Decision,
    ReviewDecision,
    Submission,
    SubmissionFile,
    SubmissionStatus,
)
from hotline.submissions.storage import BlobStore
from hotline.submissions.uploads import ParsedUpload

JOB_KIND = "prereview_submission"
FORM_FIELDS = ("name", "id_number", "uscc", "legal_representative", "phone")
MAX_REASON_CHARS = 1000
ATTENTION_SEVERITIES = ("blocking", "warning")


def create_submission(
    session: Session,
    *,
    row: ServiceVersion,
    citizen_id: str,
    upload: ParsedUpload,
    store: BlobStore,
    queue: JobQueue,
    application_date: dt.date,
) -> Submission:
    """Store the files, record the submission pinned to this service version, and enqueue its pre-review."""
    if not upload.files:
        raise NoFilesError("请至少上传一个文件 / upload at least one file")
    service = Service.model_validate(row.data)
    allowed_facts = set(condition_facts(service))
    chosen = {value.strip() for value in upload.fields.get("facts", []) if value.strip()}
    unknown = sorted(chosen - allowed_facts)
    if unknown:
        raise ValidationFailedError(f"facts: 此事项不适用的情况 / unknown fact for this service: {unknown[0]}")
    now = utcnow()
    submission = Submission(
        reference=secrets.token_urlsafe(12),
        citizen_id=citizen_id,
        service_version_id=row.id,
        service_code=row.code,
        service_version=row.version,
        service_name=row.name,
        department=row.department,
        status=SubmissionStatus.queued.value,
        form={name: upload.first(name) for name in FORM_FIELDS if upload.first(name)},
        facts={fact: fact in chosen for fact in sorted(allowed_facts)},
        application_date=application_date,
        pages=[],
        created_at=now,
        updated_at=now,
    )
    for position, uploaded in enumerate(upload.files):
        store.put_file(uploaded.spool, uploaded.sha256)
        submission.files.append(SubmissionFile(
            position=position, name=uploaded.filename, sha256=uploaded.sha256, media_type=uploaded.media_type,
            size_bytes=uploaded.size_bytes,
        ))
    session.add(submission)
    session.flush()
    submission.job_id = queue.enqueue(session, kind=JOB_KIND, payload={"submission_id": submission.id})
    return submission


def _by_reference(session: Session, reference: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.reference == reference))


def get_citizen_submission(session: Session, *, reference: str, citizen_id: str | None) -> Submission:
    """The citizen's own submission; anyone else's is reported as not found."""
    submission = _by_reference(session, reference)
    if submission is None or citizen_id is None or not secrets.compare_digest(submission.citizen_id, citizen_id):
        raise SubmissionNotFoundError("未找到该申请 / submission not found")
    return submission


def get_submission(session: Session, *, reference: str) -> Submission:
    """A submission by reference (the caller checks access)."""
    submission = _by_reference(session, reference)
    if submission is None:
        raise SubmissionNotFoundError("未找到该申请 / submission not found")
    return submission


def list_citizen_submissions(session: Session, *, citizen_id: str) -> list[Submission]:
    """A citizen's submissions, newest first."""
    return list(session.scalars(
        select(Submission).where(Submission.citizen_id == citizen_id).order_by(Submission.id.desc())
    ))


def list_review_queue(
    session: Session, *, departments: Iterable[str] | None, flag: str | None = None, limit: int = 200
) -> list[Submission]:
    """Submissions of these departments (None: all) flagged for a clerk, oldest first; ``flag`` narrows it."""
    statuses = FLAGGED_STATUSES if flag is None else (flag,)
    if flag is not None and flag not in FLAGGED_STATUSES:
        raise ValidationFailedError(f"flag: 应为 {' / '.join(FLAGGED_STATUSES)} / unknown flag")
    query = select(Submission).where(Submission.status.in_(statuses)).order_by(Submission.id).limit(limit)
    if departments is not None:
        query = query.where(Submission.department.in_(sorted(departments)))
    return list(session.scalars(query))


def findings_of(submission: Submission) -> list[dict[str, Any]]:
    """The findings of the machine report (empty before it exists)."""
    return list((submission.report or {}).get("findings") or [])


def latest_decisions(submission: Submission) -> dict[int, ReviewDecision]:
    """The current decision on each finding index (a later decision replaces an earlier one)."""
    return {decision.finding_index: decision for decision in submission.decisions}


def status_after_review(submission: Submission, decisions: dict[int, str]) -> str:
    """Status implied by the clerk's decisions; unchanged while a finding that needs attention is undecided."""
    findings = findings_of(submission)
    if any(
        finding.get("severity") in ATTENTION_SEVERITIES and index not in decisions
        for index, finding in enumerate(findings)
    ):
        return submission.status
    standing_blockers = [
        index for index, finding in enumerate(findings)
        if finding.get("severity") == "blocking" and decisions.get(index) != Decision.overridden.value
    ]
    return SubmissionStatus.returned.value if standing_blockers else SubmissionStatus.approved.value


def decide_finding(
    session: Session, *, submission: Submission, index: int, decision: Decision, reason: str, actor: str
) -> ReviewDecision:
    """Record a clerk's decision on finding ``index`` with before/after state, and update the status."""
    if submission.report is None:
        raise NotReviewableError("预审尚未完成，暂不能审核 / the pre-review has not finished")
    findings = findings_of(submission)
    if not 0 <= index < len(findings):
        raise FindingNotFoundError(f"没有第 {index} 条预审意见 / no finding {index}")
    reason = reason.strip()
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationFailedError(f"reason: 不超过 {MAX_REASON_CHARS} 字 / at most {MAX_REASON_CHARS} characters")
    if decision is Decision.overridden and not reason:
        raise ValidationFailedError("reason: 推翻预审意见须填写理由 / a reason is required to override a finding")
    current = {i: d.decision for i, d in latest_decisions(submission).items()}
    before = {"status": submission.status, "decision": current.get(index)}
    current[index] = decision.value
    new_status = status_after_review(submission, current)
    finding = findings[index]
    row = ReviewDecision(
        actor=actor, department=submission.department, finding_index=index, finding_code=str(finding.get("code")),
        decision=decision.value, reason=reason, material=finding.get("material"), file=finding.get("file"),
        page=finding.get("page"), bbox=finding.get("bbox"), confidence=finding.get("confidence"),
        before=before, after={"status": new_status, "decision": decision.value}, at=utcnow(),
    )
    submission.decisions.append(row)
    submission.status = new_status
    submission.updated_at = utcnow()
    session.add(AuditLog(
        actor=actor, action=f"finding_{decision.value}", target=f"submission:{submission.reference}",
        department=submission.department,
        detail={"finding": index, "code": row.finding_code, "reason": mask_text(reason), "before": before,
                "after": row.after},
    ))
    session.flush()
    return row


def export_decisions(session: Session, *, departments: Iterable[str] | None) -> Iterator[dict[str, Any]]:
    """Every clerk decision as a labelled training example (overridden = the model was wrong), oldest first."""
    query = (
        select(ReviewDecision, Submission)
        .join(Submission, ReviewDecision.submission_id == Submission.id)
        .order_by(ReviewDecision.id)
    )
    if departments is not None:
        query = query.where(ReviewDecision.department.in_(sorted(departments)))
    for decision, submission in session.execute(query):
        findings = findings_of(submission)
        finding = findings[decision.finding_index] if decision.finding_index < len(findings) else {}
        yield {
            "submission": submission.reference,
            "service": submission.service_code,
            "service_version": submission.service_version,
            "department": decision.department,
            "finding_index": decision.finding_index,
            "finding_code": decision.finding_code,
            "severity": finding.get("severity"),
            "decision": decision.decision,
            "label": "false_positive" if decision.decision == Decision.overridden.value else "true_positive",
            "reason": mask_text(decision.reason),
            "material": decision.material,
            "file_sha256": _file_sha(submission, decision.file),
            "page": decision.page,
            "bbox": decision.bbox,
            "confidence": decision.confidence,
            "actor": decision.actor,
            "at": decision.at.isoformat(),
        }


def _file_sha(submission: Submission, name: str | None) -> str | None:
    for stored in submission.files:
        if stored.name == name:
            return stored.sha256
    return None
