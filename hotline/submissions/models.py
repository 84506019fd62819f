"""Submissions of citizens, their files, and the clerks' decisions on each finding (the review audit trail)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db.base import Base, utcnow


class SubmissionStatus(StrEnum):
    """Where a submission is: machine pre-review first, then (if flagged) a clerk's review."""

    queued = "queued"
    processing = "processing"
    passed = "pass"
    needs_fix = "needs_fix"
    needs_review = "needs_review"
    failed = "failed"
    approved = "approved"
    returned = "returned"


FLAGGED_STATUSES = (SubmissionStatus.needs_review.value, SubmissionStatus.needs_fix.value)
CLOSED_STATUSES = (
    SubmissionStatus.passed.value, SubmissionStatus.approved.value, SubmissionStatus.returned.value
)
"""Statuses no clerk still has to act on: only these submissions' files may be purged."""


class Decision(StrEnum):
    """A clerk's decision on one finding: it stands (accepted) or it was wrong (overridden)."""

    accepted = "accepted"
    overridden = "overridden"


class Submission(Base):
    """One application a citizen uploaded for one version of one service."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_department_status", "department", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[str] = mapped_column(String(64), index=True)
    service_version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id"))
    service_code: Mapped[str] = mapped_column(String(64))
    service_version: Mapped[int] = mapped_column(Integer)
    service_name: Mapped[str] = mapped_column(String(500))
    department: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.queued.value)
    verdict: Mapped[str | None] = mapped_column(String(16))
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    application_date: Mapped[dt.date] = mapped_column(Date)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    files_purged_at: Mapped[dt.datetime | None] = mapped_column()
    files: Mapped[list[SubmissionFile]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionFile.position",
        lazy="selectin",
    )
    decisions: Mapped[list[ReviewDecision]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="ReviewDecision.id", lazy="selectin"
    )


class SubmissionFile(Base):
    """One uploaded file, stored content-addressed under the data directory."""

    __tablename__ = "submission_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    submission: Mapped[Submission] = relationship(back_populates="files")


class ReviewDecision(Base):
    """Audit row of one clerk decision on one finding: who, when, what, why, and the state before and after."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(200), index=True)
    finding_index: Mapped[int] = mapped_column(Integer)
    finding_code: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    material: Mapped[str | None] = mapped_column(String(100))
    file: Mapped[str | None] = mapped_column(String(255))
    page: Mapped[int | None] = mapped_column(Integer)
    bbox: Mapped[list[float] | None] = mapped_column(JSON)
    confidence: Mapped[float | None] = mapped_column(Float)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submission: Mapped[Submission] = relationship(back_populates="decisions")
