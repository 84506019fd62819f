"""Job rows: enqueue, claim atomically, finish, fail with backoff; the caller owns each transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import NotFoundError
from hotline.jobs.models import Job, JobStatus

MAX_ERROR_CHARS = 4000
CLAIM_CANDIDATES = 8


class JobNotFoundError(NotFoundError):
    """No job with this id."""

    code = "job_not_found"


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds; ``token`` fences its writes against a later claimant."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    token: str


def enqueue_job(
    session: Session, *, kind: str, payload: dict[str, Any], max_attempts: int, run_after: dt.datetime | None = None
) -> Job:
    """Add a pending job to the caller's transaction, runnable from ``run_after`` (default: now)."""
    now = utcnow()
    job = Job(
        kind=kind, payload=payload, status=JobStatus.pending.value, attempts=0, max_attempts=max_attempts,
        created_at=now, updated_at=now, run_after=run_after or now,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, *, job_id: int) -> Job:
    """The job with this id, else ``JobNotFoundError``."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFoundError(f"任务 {job_id} 不存在 / job not found")
    return job


def _claimable(now: dt.datetime) -> Any:
    return or_(
        and_(Job.status == JobStatus.pending.value, Job.run_after <= now),
        and_(Job.status == JobStatus.running.value, Job.locked_until < now, Job.attempts < Job.max_attempts),
    )


WORKER_LOST = "worker_lost: the worker stopped during the last allowed attempt"


def fail_abandoned_jobs(session: Session, *, now: dt.datetime | None = None) -> list[ClaimedJob]:
    """Mark failed the running jobs whose worker vanished during their last allowed try; returns them."""
    now = now or utcnow()
    abandoned = and_(
        Job.status == JobStatus.running.value, Job.locked_until < now, Job.attempts >= Job.max_attempts
    )
    failed = []
    for row in session.execute(select(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts, Job.locked_by)
                               .where(abandoned)):
        result = session.execute(
            update(Job)
            .where(Job.id == row.id, abandoned)
            .values(
                status=JobStatus.failed.value, finished_at=now, updated_at=now, locked_until=None, error=WORKER_LOST
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            failed.append(ClaimedJob(id=row.id, kind=row.kind, payload=dict(row.payload or {}), attempt=row.attempts,
                                     max_attempts=row.max_attempts, token=row.locked_by or ""))
    return failed


def claim_job(session: Session, *, worker: str, lease_s: float, now: dt.datetime | None = None) -> ClaimedJob | None:
    """Take the oldest runnable job (pending, or running with an expired lease) for ``worker``, or None.

    PostgreSQL locks the candidate row with ``FOR UPDATE SKIP LOCKED``; SQLite relies on a conditional
    UPDATE that only one writer can win. Commit right after to publish the claim.
    """
    now = now or utcnow()
    condition = _claimable(now)
    query = select(Job.id).where(condition).order_by(Job.run_after, Job.id)
    if session.get_bind().dialect.name == "postgresql":
        candidates = list(session.scalars(query.limit(1).with_for_update(skip_locked=True)))
    else:
        candidates = list(session.scalars(query.limit(CLAIM_CANDIDATES)))
    token = f"{worker}:{secrets.token_hex(6)}"
    for job_id in candidates:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, condition)
            .values(
                status=JobStatus.running.value, attempts=Job.attempts + 1, started_at=now, updated_at=now,
                locked_until=now + dt.timedelta(seconds=lease_s), locked_by=token,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            row = session.execute(
                select(Job.kind, Job.payload, Job.attempts, Job.max_attempts).where(Job.id == job_id)
            ).one()
            return ClaimedJob(
                id=job_id, kind=row.kind, payload=dict(row.payload or {}), attempt=row.attempts,
                max_attempts=row.max_attempts, token=token,
            )
    return None


def complete_job(session: Session, *, job: ClaimedJob) -> bool:
    """Mark a held job done; False when the claim was lost (lease expired and taken by another worker)."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.locked_by == job.token, Job.status == JobStatus.running.value)
        .values(status=JobStatus.done.value, finished_at=now, updated_at=now, locked_until=None, error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def renew_lease(session: Session, *, job: ClaimedJob, lease_s: float) -> bool:
    """Push a held job's lease to ``now + lease_s``; False when the claim was lost to another worker."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.locked_by == job.token, Job.status == JobStatus.running.value)
        .values(locked_until=now + dt.timedelta(seconds=lease_s), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def fail_job(session: Session, *, job: ClaimedJob, error: str, retry_in_s: float | None) -> bool:
    """Record a failed try: back to pending after ``retry_in_s``, or failed for good when it is None."""
    now = utcnow()
    values: dict[str, Any] = {"error": error[:MAX_ERROR_CHARS], "updated_at": now, "locked_until": None}
    if retry_in_s is None:
        values.update(status=JobStatus.failed.value, finished_at=now)
    else:
        values.update(status=JobStatus.pending.value, run_after=now + dt.timedelta(seconds=retry_in_s))
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.locked_by == job.token, Job.status == JobStatus.running.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
