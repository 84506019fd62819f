"""Upload retention: delete the stored files and page images of closed submissions after the retention period.

The submission row, its report, findings, clerk decisions and the audit log stay; the row is marked purged.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotline.db import session_scope
from hotline.db.base import utcnow
from hotline.jobs import Job, JobContext, JobStatus, enqueue_job
from hotline.models import AuditLog
from hotline.submissions.models import CLOSED_STATUSES, Submission, SubmissionFile
from hotline.submissions.storage import BlobStore

logger = logging.getLogger("hotline.submissions")

PURGE_JOB_KIND = "purge_uploads"
PURGE_ACTOR = "retention"
PURGE_ACTION = "upload_files_purged"
PURGE_BATCH = 200
UPLOAD_GRACE_S = 3600.0
"""Longest an upload's transaction may take from storing its files to its commit. A blob stored (or
stored again by an upload of the same bytes) less than this before the purge looked for references
to it is kept: the upload's submission may not have been visible to that look yet."""
PURGED_NOTICE = "材料已按保存期限删除 / files deleted after the retention period"


@dataclass(frozen=True)
class PurgeReport:
    """What one purge did (or, in a dry run, would do)."""

    retention_days: int
    cutoff: dt.datetime | None
    references: tuple[str, ...]
    blobs_deleted: int
    bytes_freed: int
    blobs_failed: int
    dry_run: bool
    blobs_kept: int = 0

    def line(self) -> str:
        """The report as one line for operators and the log."""
        if self.cutoff is None:
            return "upload retention is off (HOTLINE_UPLOAD_RETENTION_DAYS=0): nothing purged"
        count = len(self.references)
        scope = (
            f"{count} submission{'' if count == 1 else 's'} closed before {self.cutoff:%Y-%m-%d %H:%M} UTC "
            f"(retention {self.retention_days} days)"
        )
        size = f"{self.bytes_freed / (1024 * 1024):.1f} MiB"
        if self.dry_run:
            return f"dry run: {scope} would be purged ({self.blobs_deleted} files, {size}); nothing deleted"
        failed = f"; {self.blobs_failed} files could not be deleted (see the log)" if self.blobs_failed else ""
        kept = f"; {self.blobs_kept} file{'' if self.blobs_kept == 1 else 's'} kept: uploaded again meanwhile" if self.blobs_kept else ""
        return f"purged {scope}: {self.blobs_deleted} files deleted, {size} freed{failed}{kept}"


def expired_submissions(session: Session, *, cutoff: dt.datetime, limit: int | None = None) -> list[Submission]:
    """Closed submissions last changed before ``cutoff`` whose files are still stored, oldest first."""
    query = (
        select(Submission)
        .where(
            Submission.status.in_(CLOSED_STATUSES), Submission.files_purged_at.is_(None),
            Submission.updated_at < cutoff,
        )
        .order_by(Submission.updated_at, Submission.id)
    )
    return list(session.scalars(query.limit(limit) if limit is not None else query))


def blobs_of(submission: Submission) -> set[str]:
    """The stored blobs of a submission: its uploaded files and its page images."""
    previews = {str(page["preview"]) for page in submission.pages or [] if page.get("preview")}
    return {stored.sha256 for stored in submission.files} | previews


def blobs_still_needed(session: Session, *, blobs: set[str], excluding: Iterable[int] = ()) -> set[str]:
    """Those of ``blobs`` that an unpurged submission (other than ``excluding``) still refers to.

    Files are stored once per content, so two submissions with the same photo share one blob.
    """
    if not blobs:
        return set()
    skipped = sorted(set(excluding))
    holders = [Submission.files_purged_at.is_(None), *([Submission.id.not_in(skipped)] if skipped else [])]
    needed = set(session.scalars(
        select(SubmissionFile.sha256)
        .join(Submission, SubmissionFile.submission_id == Submission.id)
        .where(SubmissionFile.sha256.in_(sorted(blobs)), *holders)
    ))
    for pages in session.scalars(select(Submission.pages).where(*holders)):
        needed |= {str(page.get("preview")) for page in pages or []} & blobs
    return needed


def mark_purged(
    session: Session, *, submission: Submission, now: dt.datetime, retention_days: int, actor: str
) -> bool:
    """Mark one submission purged and audit it; False when another purge got there first."""
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.files_purged_at.is_(None))
        .values(files_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.add(AuditLog(
        actor=actor, action=PURGE_ACTION, target=f"submission:{submission.reference}",
        department=submission.department, at=now,
        detail={"files": len(submission.files), "pages": len(submission.pages or []), "status": submission.status,
                "retention_days": retention_days},
    ))
    return True


def purge_expired_uploads(
    session_factory: sessionmaker[Session],
    *,
    store: BlobStore,
    retention_days: int,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    actor: str = PURGE_ACTOR,
) -> PurgeReport:
    """Delete the files and page images of submissions closed more than ``retention_days`` ago (0: keep all).

    Each batch is marked purged and audited in one transaction; its blobs are deleted only after that commit
    (a crash in between leaves files on disk, never a submission pointing at missing files), and only those
    no unpurged submission still shares and no upload stored again within UPLOAD_GRACE_S of that check (its
    submission may not have been committed yet). Owns its transactions.
    """
    if retention_days == 0:
        return PurgeReport(retention_days, None, (), 0, 0, 0, dry_run)
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    if dry_run:
        with session_scope(session_factory) as session:
            expired = expired_submissions(session, cutoff=cutoff)
            blobs = set().union(*(blobs_of(s) for s in expired))
            blobs -= blobs_still_needed(session, blobs=blobs, excluding=[s.id for s in expired])
            references = tuple(s.reference for s in expired)
        return PurgeReport(retention_days, cutoff, references, len(blobs), sum(map(store.size, blobs)), 0, True)
    references: list[str] = []
    deleted = freed = failed = kept = 0
    while True:
        with session_scope(session_factory) as session:
            batch = expired_submissions(session, cutoff=cutoff, limit=PURGE_BATCH)
            purged = [
                s for s in batch
                if mark_purged(session, submission=s, now=now, retention_days=retention_days, actor=actor)
            ]
            blobs = set().union(*(blobs_of(s) for s in purged))
        references += [s.reference for s in purged]
        used_before = time.time() - UPLOAD_GRACE_S
        with session_scope(session_factory) as session:
            blobs -= blobs_still_needed(session, blobs=blobs)
        for sha256 in sorted(blobs):
            try:
                size = store.delete(sha256, used_before=used_before)
            except OSError:
                failed += 1
                logger.warning("could not delete purged upload blob %s", sha256, exc_info=True)
                continue
            if size is None:
                kept += 1
                logger.info("kept purged upload blob %s: stored again by a recent upload", sha256)
            else:
                freed += size
                deleted += 1
        if len(batch) < PURGE_BATCH:
            return PurgeReport(retention_days, cutoff, tuple(references), deleted, freed, failed, False, kept)


def schedule_upload_purge(
    session: Session, *, delay_s: float, max_attempts: int, now: dt.datetime | None = None
) -> int | None:
    """Enqueue the next periodic purge ``delay_s`` from now unless one is already waiting; returns its job id."""
    waiting = session.scalar(
        select(Job.id).where(Job.kind == PURGE_JOB_KIND, Job.status == JobStatus.pending.value).limit(1)
    )
    if waiting is not None:
        return None
    run_after = (now or utcnow()) + dt.timedelta(seconds=delay_s)
    return enqueue_job(session, kind=PURGE_JOB_KIND, payload={}, max_attempts=max_attempts, run_after=run_after).id


class UploadPurgeJob:
    """Handler of ``purge_uploads`` jobs: schedules the next run first (so a failure never ends the cycle), then purges."""

    def __init__(self, *, store: BlobStore, retention_days: int, interval_s: float) -> None:
        self.store = store
        self.retention_days = retention_days
        self.interval_s = interval_s

    def __call__(self, context: JobContext) -> None:
        with session_scope(context.session_factory) as session:
            schedule_upload_purge(session, delay_s=self.interval_s, max_attempts=context.max_attempts)
        report = purge_expired_uploads(
            context.session_factory, store=self.store, retention_days=self.retention_days
        )
        logger.info("%s", report.line())
