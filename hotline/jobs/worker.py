"""Workers: claim a job, run its handler, record the outcome; a pool of threads; the `hotline worker` entry."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.db import create_db_engine, create_session_factory, session_scope
from hotline.jobs.queue import DatabaseJobQueue, JobQueue, RedisJobQueue
from hotline.jobs.settings import JobSettings
from hotline.jobs.store import (
    WORKER_LOST,
    ClaimedJob,
    claim_job,
    complete_job,
    fail_abandoned_jobs,
    fail_job,
    renew_lease,
)
from hotline.logging_filters import mask_personal_numbers
from hotline.settings import HotlineSettings

logger = logging.getLogger("hotline.jobs")


class PermanentJobError(Exception):
    """A failure that retrying cannot fix: the job is marked failed at once."""


class LeaseLostError(Exception):
    """The job's lease was taken over by another worker: this try's result must not be stored."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job, a way to open its own transactions, and whether its lease was lost."""

    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    session_factory: sessionmaker[Session]
    lease_lost: threading.Event = field(default_factory=threading.Event)

    def ensure_lease(self) -> None:
        """Raise ``LeaseLostError`` when another worker has taken this job over (call before storing results)."""
        if self.lease_lost.is_set():
            raise LeaseLostError(f"job {self.job_id}: lease taken over by another worker")


JobHandler = Callable[[JobContext], None]
"""Runs one job; raise to fail the try. A handler may also have ``on_failed(context, error)``, called once when
its job fails for good (last try failed, permanent error, or worker lost on the last try)."""


class LeaseHeartbeat:
    """Renews a running job's lease from a daemon thread, so that a live worker keeps its job however long it runs.

    A worker that dies stops renewing, and its job is claimed again once ``lease_s`` has passed.
    """

    def __init__(
        self, *, session_factory: sessionmaker[Session], job: ClaimedJob, lease_s: float, interval_s: float
    ) -> None:
        self.session_factory = session_factory
        self.job = job
        self.lease_s = lease_s
        self.interval_s = interval_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-heartbeat-{job.id}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with session_scope(self.session_factory) as session:
                    kept = renew_lease(session, job=self.job, lease_s=self.lease_s)
            except Exception:  # noqa: BLE001  (the database may be back before the lease runs out)
                logger.warning("could not renew the lease of job %s; trying again", self.job.id, exc_info=True)
                continue
            if not kept:
                logger.warning("job %s (%s): lease taken over by another worker", self.job.id, self.job.kind)
                self.lost.set()
                return


def create_queue(settings: JobSettings) -> JobQueue:
    """The Redis-backed queue when ``redis_url`` is set, else the database-only queue."""
    if settings.redis_url:
        return RedisJobQueue.from_url(settings, settings.redis_url)
    return DatabaseJobQueue(settings)


class Worker:
    """Runs jobs one at a time; several workers (threads or machines) can share one database."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        settings: JobSettings,
        name: str | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.queue = queue
        self.handlers = dict(handlers)
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def claim(self) -> ClaimedJob | None:
        """Claim the next runnable job (and fail jobs abandoned on their last try), committing the claim."""
        with session_scope(self.session_factory) as session:
            abandoned = fail_abandoned_jobs(session)
        for job in abandoned:
            logger.warning("job %s (%s) failed: its worker stopped during the last attempt", job.id, job.kind)
            self._give_up(job, WORKER_LOST)
        with session_scope(self.session_factory) as session:
            return claim_job(session, worker=self.name, lease_s=self.settings.lease_s)

    def _context(self, job: ClaimedJob, lease_lost: threading.Event | None = None) -> JobContext:
        return JobContext(
            job_id=job.id, kind=job.kind, payload=job.payload, attempt=job.attempt,
            max_attempts=job.max_attempts, session_factory=self.session_factory,
            lease_lost=lease_lost or threading.Event(),
        )

    def _give_up(self, job: ClaimedJob, error: str) -> None:
        """Tell the handler its job failed for good, so it can record that on its own rows."""
        on_failed = getattr(self.handlers.get(job.kind), "on_failed", None)
        if on_failed is None:
            return
        try:
            on_failed(self._context(job), error)
        except Exception:  # noqa: BLE001  (the job is already failed; the hook must not stop the worker)
            logger.exception("on_failed hook of job %s (%s) raised", job.id, job.kind)

    def execute(self, job: ClaimedJob) -> None:
        """Run the handler of a claimed job, renewing its lease meanwhile, and record done, retry or failed."""
        handler = self.handlers.get(job.kind)
        retry_in: float | None = None
        if handler is None:
            error = f"unknown_job_kind: no handler for {job.kind!r}"
        else:
            heartbeat = LeaseHeartbeat(
                session_factory=self.session_factory, job=job, lease_s=self.settings.lease_s,
                interval_s=self.settings.heartbeat_interval_s,
            )
            try:
                with heartbeat:
                    handler(self._context(job, heartbeat.lost))
            except LeaseLostError:
                logger.warning("job %s (%s): result dropped, another worker holds the job now", job.id, job.kind)
                return
            except PermanentJobError as exc:
                error = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001  (any handler failure is recorded on the job)
                error = f"{type(exc).__name__}: {exc}"
                if job.attempt < job.max_attempts:
                    retry_in = self.settings.backoff_s(job.attempt)
            else:
                with session_scope(self.session_factory) as session:
                    if not complete_job(session, job=job):
                        logger.warning("job %s finished after its lease was taken over", job.id)
                return
        error = mask_personal_numbers(error)
        logger.warning("job %s (%s) attempt %s/%s failed: %s", job.id, job.kind, job.attempt, job.max_attempts, error)
        with session_scope(self.session_factory) as session:
            recorded = fail_job(session, job=job, error=error, retry_in_s=retry_in)
        if recorded and retry_in is None:
            self._give_up(job, error)

    def run_once(self) -> bool:
        """Claim and run one job; False when none was runnable."""
        job = self.claim()
        if job is None:
            return False
        self.execute(job)
        return True

    def run(self, stop: threading.Event) -> None:
        """Run jobs until ``stop`` is set, waiting on the queue when idle."""
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # noqa: BLE001  (e.g. the database restarting: wait and try again)
                logger.exception("worker %s could not reach the job table", self.name)
                stop.wait(self.settings.poll_interval_s)
                continue
            if not worked and not stop.is_set():
                self.queue.wait_for_work(self.settings.poll_interval_s)


class WorkerPool:
    """Worker threads sharing one queue; ``stop`` lets each finish its current job."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        settings: JobSettings,
        threads: int,
    ) -> None:
        self.queue = queue
        self.stop_event = threading.Event()
        self.workers = [
            Worker(session_factory=session_factory, queue=queue, handlers=handlers, settings=settings,
                   name=f"{socket.gethostname()}:{os.getpid()}:w{index}")
            for index in range(threads)
        ]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one daemon thread per worker."""
        for worker in self.workers:
            thread = threading.Thread(target=worker.run, args=(self.stop_event,), name=worker.name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask every worker to stop, wake them, and wait for running jobs to end."""
        self.stop_event.set()
        self.queue.close()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()


def run_worker(
    settings: HotlineSettings,
    *,
    job_settings: JobSettings | None = None,
    handlers: Mapping[str, JobHandler] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run job workers against the app database until SIGINT/SIGTERM (or ``stop``): the `hotline worker` command.

    ``handlers`` defaults to every handler the application registers (pre-review of submissions, upload purge).
    """
    job_settings = job_settings or JobSettings()
    if handlers is None:
        from hotline.submissions.handlers import create_handlers

        handlers = create_handlers(settings)
    engine = create_db_engine(settings.resolved_database_url)
    pool = WorkerPool(
        session_factory=create_session_factory(engine), queue=create_queue(job_settings), handlers=handlers,
        settings=job_settings, threads=job_settings.worker_threads,
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    pool.start()
    logger.info("%s job workers running (%s)", job_settings.worker_threads,
                "redis" if job_settings.redis_url else "database polling")
    try:
        stop.wait()
    finally:
        pool.stop()
        engine.dispose()
