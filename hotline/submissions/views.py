"""What each audience sees of a submission: citizens and other staff get masked numbers, the clerk of the
department the full ones."""

from __future__ import annotations

from typing import Any

from hotline.jobs import Job
from hotline.submissions.masking import mask_form, mask_text
from hotline.submissions.models import Decision, Submission, SubmissionStatus
from hotline.submissions.schemas import FileRead, FindingRead, PageRead, SubmissionRead, SubmissionSummary
from hotline.submissions.service import findings_of, latest_decisions
from hotline.web.deps import Principal, PrincipalKind

STATUS_LABELS: dict[str, str] = {
    SubmissionStatus.queued.value: "排队等待预审 / Queued",
    SubmissionStatus.processing.value: "正在预审 / Checking",
    SubmissionStatus.passed.value: "预审通过 / Passed",
    SubmissionStatus.needs_fix.value: "需要补正 / Needs fixing",
    SubmissionStatus.needs_review.value: "待工作人员核对 / Awaiting staff review",
    SubmissionStatus.failed.value: "自动预审未完成，将人工审核 / Pre-review failed; staff will check",
    SubmissionStatus.approved.value: "工作人员审核通过 / Approved by staff",
    SubmissionStatus.returned.value: "工作人员退回补正 / Returned for fixing",
}
UNFINISHED = (SubmissionStatus.queued.value, SubmissionStatus.processing.value)
SEVERITY_LABELS = {"blocking": "必须更正 / Must fix", "warning": "请注意 / Check", "info": "提示 / Note"}
DECISION_LABELS = {Decision.accepted.value: "已确认 / Upheld", Decision.overridden.value: "已推翻 / Overridden"}


def sees_full_numbers(principal: Principal, submission: Submission) -> bool:
    """Only a clerk of the submission's own department sees full ID and phone numbers."""
    return principal.kind is PrincipalKind.clerk and submission.department in principal.departments


def finding_views(submission: Submission, *, staff: bool) -> list[FindingRead]:
    """Findings with their current decision; citizens do not see findings a clerk overrode."""
    decisions = latest_decisions(submission)
    views = []
    for index, finding in enumerate(findings_of(submission)):
        decision = decisions.get(index)
        if not staff and decision is not None and decision.decision == Decision.overridden.value:
            continue
        views.append(FindingRead(
            index=index, code=str(finding.get("code")), severity=str(finding.get("severity")),
            material=finding.get("material"), file=finding.get("file"), page=finding.get("page"),
            bbox=finding.get("bbox"), message=mask_text(str(finding.get("message") or "")),
            detail=mask_text(str(finding.get("detail") or "")) if staff else None,
            confidence=finding.get("confidence") if staff else None,
            decision=decision.decision if decision is not None else None,
        ))
    return views


def page_views(submission: Submission, *, image_url: str) -> list[PageRead]:
    """Page previews (none once the files were purged); ``image_url`` is a pattern with ``{index}``."""
    if submission.files_purged_at is not None:
        return []
    return [
        PageRead(file=page["file"], page=page["page"], width=page["width"], height=page["height"],
                 image_url=image_url.format(index=index))
        for index, page in enumerate(submission.pages or [])
    ]


def submission_read(
    submission: Submission, *, principal: Principal, staff: bool, image_url: str, result_url: str, job: Job | None
) -> SubmissionRead:
    """The JSON view of a submission for this principal."""
    form = dict(submission.form) if sees_full_numbers(principal, submission) else mask_form(submission.form)
    return SubmissionRead(
        reference=submission.reference, service_code=submission.service_code,
        service_version=submission.service_version, service_name=submission.service_name,
        department=submission.department, status=submission.status,
        status_label=STATUS_LABELS[submission.status], verdict=submission.verdict,
        finished=submission.status not in UNFINISHED, progress=submission.progress,
        created_at=submission.created_at,
        updated_at=submission.updated_at, application_date=submission.application_date, form=form,
        facts=dict(submission.facts),
        files=[FileRead(name=f.name, media_type=f.media_type, size_bytes=f.size_bytes, sha256=f.sha256)
               for f in submission.files],
        materials=(submission.report or {}).get("materials"),
        findings=finding_views(submission, staff=staff),
        pages=page_views(submission, image_url=image_url),
        files_purged_at=submission.files_purged_at,
        job_status=job.status if job is not None else None,
        job_attempts=job.attempts if job is not None else None,
        result_url=result_url,
    )


def summary(submission: Submission, *, principal: Principal) -> SubmissionSummary:
    """A queue line (numbers masked)."""
    form = mask_form(submission.form)
    findings = findings_of(submission)
    decided = latest_decisions(submission)
    return SubmissionSummary(
        reference=submission.reference, service_code=submission.service_code,
        service_name=submission.service_name, department=submission.department, status=submission.status,
        verdict=submission.verdict, created_at=submission.created_at, applicant=form.get("name"),
        id_number=form.get("id_number"), finding_count=len(findings),
        undecided_count=sum(1 for index in range(len(findings)) if index not in decided),
    )


def pages_with_findings(submission: Submission, findings: list[FindingRead], image_url: str) -> list[dict[str, Any]]:
    """Each page preview with the findings boxed on it, for the templates."""
    pages = []
    for page in page_views(submission, image_url=image_url):
        boxed = [f for f in findings if f.file == page.file and (f.page or 1) == page.page and f.bbox]
        listed = [f for f in findings if f.file == page.file and (f.page or 1) == page.page]
        pages.append({"page": page, "boxed": boxed, "listed": listed})
    return pages
