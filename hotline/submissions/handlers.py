"""The pre-review job: run the reviewer on a submission's files and store report, verdict and page previews."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from guides import Service
from hotline.db import session_scope
from hotline.db.base import utcnow
from hotline.jobs import JobContext, JobHandler, PermanentJobError
from hotline.models import ServiceVersion
from hotline.settings import HotlineSettings
from hotline.submissions.masking import mask_text
from hotline.submissions.models import Submission, SubmissionStatus
from hotline.submissions.retention import PURGE_JOB_KIND, UploadPurgeJob
from hotline.submissions.review import PipelineReviewer, Progress, Reviewer, ReviewerUnavailableError
from hotline.submissions.service import JOB_KIND
from hotline.submissions.storage import BlobStore

logger = logging.getLogger("hotline.submissions")

VERDICT_STATUS = {
    "pass": SubmissionStatus.passed.value,
    "needs_fix": SubmissionStatus.needs_fix.value,
    "needs_review": SubmissionStatus.needs_review.value,
}
UNFINISHED = (SubmissionStatus.queued.value, SubmissionStatus.processing.value)


def blob_store(settings: HotlineSettings) -> BlobStore:
    """Where submission files and previews are kept: ``data_dir/submissions``."""
    return BlobStore(settings.data_dir / "submissions")


class PrereviewJob:
    """Handler of ``prereview_submission`` jobs."""

    def __init__(self, *, reviewer: Reviewer, store: BlobStore, progress_interval_s: float = 0.5) -> None:
        self.reviewer = reviewer
        self.store = store
        self.progress_interval_s = progress_interval_s

    def __call__(self, context: JobContext) -> None:
        submission_id = int(context.payload["submission_id"])
        with session_scope(context.session_factory) as session:
            submission = session.get(Submission, submission_id)
            if submission is None:
                raise PermanentJobError(f"submission {submission_id} no longer exists")
            if submission.status not in (SubmissionStatus.queued.value, SubmissionStatus.processing.value):
                return  # already reviewed (e.g. a retry after the result was stored)
            submission.status = SubmissionStatus.processing.value
            submission.progress = {"stage": "start", "done": 0, "total": 0}
            submission.updated_at = utcnow()
            row = session.get(ServiceVersion, submission.service_version_id)
            assert row is not None  # a foreign key guarantees it
            service = Service.model_validate(row.data)
            files = [(stored.name, self.store.read(stored.sha256)) for stored in submission.files]
            form, facts, application_date = dict(submission.form), dict(submission.facts), submission.application_date
        try:
            outcome = self.reviewer.review(
                service=service, files=files, form=form, facts=facts, application_date=application_date,
                on_progress=self._progress_writer(context.session_factory, submission_id),
            )
        except ReviewerUnavailableError as exc:
            raise PermanentJobError(str(exc)) from exc
        order = {name: index for index, (name, _) in enumerate(files)}
        pages = [
            {"file": page.file, "page": page.page, "width": page.width, "height": page.height,
             "preview": self.store.put_bytes(page.jpeg)}
            for page in sorted(outcome.pages, key=lambda p: (order.get(p.file, len(order)), p.page))
        ]
        report = outcome.report
        context.ensure_lease()  # a worker that lost its job to another must not store a second result
        with session_scope(context.session_factory) as session:
            submission = session.get(Submission, submission_id)
            if submission is None:
                raise PermanentJobError(f"submission {submission_id} no longer exists")
            submission.report = report.to_json_dict()
            submission.verdict = report.verdict
            submission.status = VERDICT_STATUS[report.verdict]
            submission.pages = pages
            submission.progress = None
            submission.error = None
            submission.updated_at = utcnow()

    def _progress_writer(self, factory: sessionmaker[Session], submission_id: int) -> Callable[[Progress], None]:
        """A callback storing progress at most every ``progress_interval_s`` (and always at a stage's end)."""
        last = 0.0

        def write(progress: Progress) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < self.progress_interval_s and progress.done < progress.total:
                return
            last = now
            with session_scope(factory) as session:
                session.execute(
                    update(Submission).where(Submission.id == submission_id).values(
                        progress={"stage": progress.stage, "done": progress.done, "total": progress.total}
                    )
                )

        return write

    def on_failed(self, context: JobContext, error: str) -> None:
        """The job failed for good: the submission goes to ``failed`` (staff review it by hand)."""
        submission_id = int(context.payload["submission_id"])
        logger.warning("pre-review of submission %s failed for good: %s", submission_id, error)
        with session_scope(context.session_factory) as session:
            submission = session.get(Submission, submission_id)
            if submission is not None and submission.status in UNFINISHED:
                submission.status = SubmissionStatus.failed.value
                submission.progress = None
                submission.error = mask_text(error)
                submission.updated_at = utcnow()


def create_handlers(settings: HotlineSettings, *, reviewer: Reviewer | None = None) -> dict[str, JobHandler]:
    """Every job handler of the application, keyed by job kind."""
    store = blob_store(settings)
    return {
        JOB_KIND: PrereviewJob(reviewer=reviewer or PipelineReviewer(), store=store),
        PURGE_JOB_KIND: UploadPurgeJob(
            store=store, retention_days=settings.upload_retention_days, interval_s=settings.upload_purge_interval_s
        ),
    }
