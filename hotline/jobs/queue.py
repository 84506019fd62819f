"""Job queues: the database carries every job; Redis, when used, only carries wake-up hints across machines."""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import event
from sqlalchemy.orm import Session

from hotline.jobs.settings import JobSettings
from hotline.jobs.models import Job
from hotline.jobs.store import enqueue_job, get_job

logger = logging.getLogger("hotline.jobs")


@runtime_checkable
class JobQueue(Protocol):
    """Where background work is put and where workers wait for it."""

    def enqueue(self, session: Session, *, kind: str, payload: dict[str, Any]) -> int:
        """Add a job in the caller's transaction; workers hear of it once that transaction commits."""
        ...

    def status(self, session: Session, *, job_id: int) -> Job:
        """The job's row (status, attempts, error), else ``JobNotFoundError``."""
        ...

    def wait_for_work(self, timeout_s: float) -> None:
        """Block until a job may be waiting, or ``timeout_s`` passes."""
        ...

    def close(self) -> None:
        """Release connections and wake every waiting worker."""
        ...


class DatabaseJobQueue:
    """Jobs in the app database, workers in this process: enqueue wakes them, otherwise they poll."""

    def __init__(self, settings: JobSettings) -> None:
        self.settings = settings
        self._wakeup = threading.Condition()
        self._pending_signals = 0
        self._closed = False

    def enqueue(self, session: Session, *, kind: str, payload: dict[str, Any]) -> int:
        """Add a job in the caller's transaction and wake a worker after the commit."""
        job = enqueue_job(session, kind=kind, payload=payload, max_attempts=self.settings.max_attempts)
        event.listen(session, "after_commit", lambda _session: self.notify(), once=True)
        return job.id

    def status(self, session: Session, *, job_id: int) -> Job:
        """The job's row (the database is the source of truth)."""
        return get_job(session, job_id=job_id)

    def notify(self) -> None:
        """Wake one waiting worker (or let the next one to wait return at once)."""
        with self._wakeup:
            self._pending_signals += 1
            self._wakeup.notify()

    def wait_for_work(self, timeout_s: float) -> None:
        """Wait for an enqueue in this process, or ``timeout_s`` (jobs of other processes are found by polling)."""
        with self._wakeup:
            if self._pending_signals == 0 and not self._closed:
                self._wakeup.wait(timeout_s)
            self._pending_signals = max(self._pending_signals - 1, 0)

    def close(self) -> None:
        """Wake every waiting worker so that it can see it should stop."""
        with self._wakeup:
            self._closed = True
            self._wakeup.notify_all()


class RedisJobQueue:
    """Jobs in the app database, job ids pushed to a Redis list so workers on other machines wake at once.

    Redis holds only hints: a lost hint delays a job until the next poll, never loses it.
    """

    def __init__(self, settings: JobSettings, client: Any) -> None:
        self.settings = settings
        self.client = client
        self._closed = threading.Event()

    @classmethod
    def from_url(cls, settings: JobSettings, url: str) -> RedisJobQueue:
        """A queue talking to the Redis server at ``url``."""
        import redis

        return cls(settings, redis.Redis.from_url(url, socket_timeout=settings.poll_interval_s + 5))

    def enqueue(self, session: Session, *, kind: str, payload: dict[str, Any]) -> int:
        """Add a job in the caller's transaction and push its id to Redis after the commit."""
        job = enqueue_job(session, kind=kind, payload=payload, max_attempts=self.settings.max_attempts)
        job_id = job.id
        event.listen(session, "after_commit", lambda _session: self._push(job_id), once=True)
        return job_id

    def status(self, session: Session, *, job_id: int) -> Job:
        """The job's row (the database is the source of truth)."""
        return get_job(session, job_id=job_id)

    def _push(self, job_id: int) -> None:
        try:
            self.client.rpush(self.settings.redis_key, str(job_id))
        except Exception:  # noqa: BLE001  (the job is committed; a poll will find it)
            logger.warning("could not push job %s to Redis; workers will find it by polling", job_id, exc_info=True)

    def wait_for_work(self, timeout_s: float) -> None:
        """Block on the Redis list for up to ``timeout_s``."""
        if self._closed.is_set():
            return
        try:
            self.client.blpop([self.settings.redis_key], timeout=max(timeout_s, 0.01))
        except Exception:  # noqa: BLE001  (Redis down: fall back to polling the database)
            logger.warning("Redis unavailable; polling the database instead", exc_info=True)
            self._closed.wait(timeout_s)

    def close(self) -> None:
        """Stop waiting and close the connection pool."""
        self._closed.set()
        self.client.close()
