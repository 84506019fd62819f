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
    orphans_deleted: int = 0
    orphan_bytes: int = 0

    def line(self) -> str:
        """The report as one line for operators and the log."""
        if self.cutoff is None:
            return "upload retention is off (HOTLINE_UPLOAD_RETENTION_DAYS=0): nothing purged"
        count = len(self.references)
        scope = (
            f"{count} submission{'' if count == 1 else 's'} closed before {self.cutoff:%Y-%m-%d %H:%M} UTC "
            f"(retention {self.retention_days} days)"
        )
        size = _mib(self.bytes_freed)
        orphans = f"{self.orphans_deleted} unreferenced file{'' if self.orphans_deleted == 1 else 's'} ({_mib(self.orphan_bytes)})"
        if self.dry_run:
            unreferenced = f"; {orphans} would be deleted" if self.orphans_deleted else ""
            return f"dry run: {scope} would be purged ({self.blobs_deleted} files, {size}){unreferenced}; nothing deleted"
        failed = f"; {self.blobs_failed} files could not be deleted (see the log)" if self.blobs_failed else ""
        kept = f"; {self.blobs_kept} file{'' if self.blobs_kept == 1 else 's'} kept: uploaded again meanwhile" if self.blobs_kept else ""
        unreferenced = f"; {orphans} deleted" if self.orphans_deleted else ""
        return f"purged {scope}: {self.blobs_deleted} files deleted, {size} freed{failed}{kept}{unreferenced}"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


@dataclass
class _Deletions:
    """Running counts of ``BlobStore.delete`` outcomes."""

    deleted: int = 0
    freed: int = 0
    failed: int = 0
    kept: int = 0

    def delete(self, store: BlobStore, blobs: Iterable[str], *, used_before: float) -> None:
        """Delete each blob unless it was stored or marked used at or after ``used_before``."""
        for sha256 in sorted(blobs):
            try:
                size = store.delete(sha256, used_before=used_before)
            except OSError:
                self.failed += 1
                logger.warning("could not delete upload blob %s", sha256, exc_info=True)
                continue
            if size is None:
                self.kept += 1
                logger.info("kept upload blob %s: stored again by a recent upload", sha256)
            else:
                self.freed += size
                self.deleted += 1


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


def blobs_still_needed(session: Session, *, blobs: set[str] | None, excluding: Iterable[int] = ()) -> set[str]:
    """Those of ``blobs`` (None: all blobs) that an unpurged submission (other than ``excluding``) still refers to.

    Files are stored once per content, so two submissions with the same photo share one blob.
    """
    if blobs is not None and not blobs:
        return set()
    skipped = sorted(set(excluding))
    holders = [Submission.files_purged_at.is_(None), *([Submission.id.not_in(skipped)] if skipped else [])]
    among = [SubmissionFile.sha256.in_(sorted(blobs))] if blobs is not None else []
    needed = set(session.scalars(
        select(SubmissionFile.sha256)
        .join(Submission, SubmissionFile.submission_id == Submission.id)
        .where(*among, *holders)
    ))
    for pages in session.scalars(select(Submission.pages).where(*holders)):
        previews = {str(page["preview"]) for page in pages or [] if page.get("preview")}
        needed |= previews if blobs is None else previews & blobs
    return needed


def unreferenced_blobs(session_factory: sessionmaker[Session], *, store: BlobStore) -> tuple[set[str], float]:
    """Stored blobs no unpurged submission refers to, untouched for UPLOAD_GRACE_S, and the time they must stay
    unused before to be deleted (``BlobStore.delete``'s ``used_before``).

    They are what an upload or a pre-review leaves when its transaction rolls back after storing its files,
    and what a purge keeps for a re-upload that then fails. The grace period covers an upload between
    storing its files and its commit, as in the purge.
    """
    used_before = time.time() - UPLOAD_GRACE_S
    candidates = store.unused_since(used_before)
    if not candidates:
        return set(), used_before
    with session_scope(session_factory) as session:
        return candidates - blobs_still_needed(session, blobs=None), used_before


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
    submission may not have been committed yet). Then it deletes the `unreferenced_blobs` (which also
    retries files a crash or an error left behind). Owns its transactions.
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
        orphans, _ = unreferenced_blobs(session_factory, store=store)
        return PurgeReport(retention_days, cutoff, references, len(blobs), sum(map(store.size, blobs)), 0, True,
                           orphans_deleted=len(orphans), orphan_bytes=sum(map(store.size, orphans)))
    references: list[str] = []
    purge = _Deletions()
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
        purge.delete(store, blobs, used_before=used_before)
        if len(batch) < PURGE_BATCH:
            break
    orphans, used_before = unreferenced_blobs(session_factory, store=store)
    sweep = _Deletions()
    sweep.delete(store, orphans, used_before=used_before)
    return PurgeReport(retention_days, cutoff, tuple(references), purge.deleted, purge.freed, purge.failed + sweep.failed, False,
                       purge.kept, orphans_deleted=sweep.deleted, orphan_bytes=sweep.freed)


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
