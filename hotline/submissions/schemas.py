"""JSON shapes of the submission and review API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from hotline.submissions.models import Decision


class FileRead(BaseModel):
    """One uploaded file."""

    name: str
    media_type: str
    size_bytes: int
    sha256: str


class PageRead(BaseModel):
    """One page preview; ``width``/``height`` are the coordinate space of finding boxes."""

    file: str
    page: int
    width: int | float
    height: int | float
    image_url: str


class FindingRead(BaseModel):
    """A finding of the machine report, with the clerk's current decision on it."""

    index: int
    code: str
    severity: str
    material: str | None
    file: str | None
    page: int | None
    bbox: list[float] | None
    message: str
    detail: str | None = Field(default=None, description="Technical detail (staff only)")
    confidence: float | None = Field(default=None, description="Model confidence (staff only)")
    decision: str | None = None


class SubmissionRead(BaseModel):
    """A submission and its progress; ``findings`` once the pre-review has finished."""

    reference: str
    service_code: str
    service_version: int
    service_name: str
    department: str
    status: str
    status_label: str
    verdict: str | None
    finished: bool
    progress: dict[str, Any] | None = Field(default=None, description="stage, done, total while processing")
    created_at: dt.datetime
    updated_at: dt.datetime
    application_date: dt.date
    form: dict[str, Any]
    facts: dict[str, Any]
    files: list[FileRead]
    materials: list[dict[str, Any]] | None
    findings: list[FindingRead]
    pages: list[PageRead]
    files_purged_at: dt.datetime | None = Field(
        default=None, description="When the files and page images were deleted after the retention period"
    )
    job_status: str | None = None
    job_attempts: int | None = None
    result_url: str


class SubmissionCreated(BaseModel):
    """Answer to an upload: where to poll."""

    reference: str
    status: str
    progress_url: str
    result_url: str


class SubmissionSummary(BaseModel):
    """A line of the clerk's review queue."""

    reference: str
    service_code: str
    service_name: str
    department: str
    status: str
    verdict: str | None
    created_at: dt.datetime
    applicant: str | None
    id_number: str | None
    finding_count: int
    undecided_count: int


class DecisionCreate(BaseModel):
    """A clerk's decision on one finding."""

    decision: Decision
    reason: str = Field(default="", max_length=1000)


class DecisionRead(BaseModel):
    """One recorded decision (audit row)."""

    id: int
    at: dt.datetime
    actor: str
    finding_index: int
    finding_code: str
    decision: str
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
    submission_status: str
