"""What the submission routes need at run time, built in the app's lifespan: store, queue, in-app workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates
from jinja2 import PackageLoader
from sqlalchemy.exc import SQLAlchemyError

from guides.rendering import create_environment
from hotline.db import session_scope
from hotline.jobs import JobQueue, JobSettings, WorkerPool, create_queue
from hotline.settings import HotlineSettings
from hotline.submissions.handlers import blob_store, create_handlers
from hotline.submissions.retention import schedule_upload_purge
from hotline.submissions.review import PipelineReviewer, Reviewer
from hotline.submissions.settings import SubmissionSettings
from hotline.submissions.storage import BlobStore
from hotline.web.templating import GUIDES_STATIC_URL

logger = logging.getLogger("hotline.submissions")


@dataclass
class SubmissionRuntime:
    """Per-app state of the submission flow."""

    settings: SubmissionSettings
    job_settings: JobSettings
    store: BlobStore
    queue: JobQueue
    reviewer: Reviewer
    pool: WorkerPool | None


def build_runtime(app: FastAPI, *, start_workers: bool) -> SubmissionRuntime:
    """The runtime of ``app``; ``app.state`` may carry ``submission_settings``, ``job_settings`` and ``reviewer``."""
    settings: HotlineSettings = app.state.settings
    submission_settings = getattr(app.state, "submission_settings", None) or SubmissionSettings()
    job_settings = getattr(app.state, "job_settings", None) or JobSettings()
    reviewer = getattr(app.state, "reviewer", None) or PipelineReviewer()
    queue = create_queue(job_settings)
    if start_workers and settings.upload_retention_days:
        _schedule_purge(app, settings, job_settings)
    pool = None
    if start_workers and job_settings.in_app_workers:
        pool = WorkerPool(
            session_factory=app.state.session_factory, queue=queue, settings=job_settings,
            handlers=create_handlers(settings, reviewer=reviewer),
            threads=job_settings.in_app_workers,
        )
        pool.start()
    return SubmissionRuntime(
        settings=submission_settings, job_settings=job_settings, store=blob_store(settings), queue=queue,
        reviewer=reviewer, pool=pool,
    )


def _schedule_purge(app: FastAPI, settings: HotlineSettings, job_settings: JobSettings) -> None:
    """Make sure a periodic upload purge is waiting in the job queue (the app still starts if this fails)."""
    try:
        with session_scope(app.state.session_factory) as session:
            schedule_upload_purge(
                session, delay_s=settings.upload_purge_interval_s, max_attempts=job_settings.max_attempts
            )
    except SQLAlchemyError:
        logger.warning("could not schedule the upload purge; the next start tries again", exc_info=True)


@asynccontextmanager
async def submissions_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the runtime and start the in-app workers; stop them (finishing running jobs) on shutdown."""
    runtime = build_runtime(app, start_workers=True)
    app.state.submission_runtime = runtime
    try:
        yield
    finally:
        if runtime.pool is not None:
            runtime.pool.stop()
        else:
            runtime.queue.close()


def get_runtime(request: Request) -> SubmissionRuntime:
    """The runtime built by the lifespan; without one (an app driven without its lifespan) a worker-less one.

    Jobs enqueued then wait in the database for a worker process.
    """
    runtime = getattr(request.app.state, "submission_runtime", None)
    if runtime is None:
        runtime = build_runtime(request.app, start_workers=False)
        request.app.state.submission_runtime = runtime
    return runtime


def get_templates(request: Request) -> Jinja2Templates:
    """This package's templates over the hotline's layout and guides' templates (built once per app)."""
    templates = getattr(request.app.state, "submission_templates", None)
    if templates is None:
        environment = create_environment(
            PackageLoader("hotline.submissions", "templates"),
            PackageLoader("hotline", "templates"),
            static_url=GUIDES_STATIC_URL,
            guide_url="/guides/{code}",
            search_url="/search",
            index_url="/",
        )
        templates = Jinja2Templates(env=environment)
        request.app.state.submission_templates = templates
    return templates
