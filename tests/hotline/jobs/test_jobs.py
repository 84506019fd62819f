"""The job queue: claim, retry with backoff, failure, resume after a crash, concurrency, Redis wake-ups."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline import HotlineSettings
from hotline.db import session_scope
from hotline.jobs import (
    DatabaseJobQueue,
    Job,
    JobContext,
    JobNotFoundError,
    JobSettings,
    JobStatus,
    PermanentJobError,
    RedisJobQueue,
    Worker,
    WorkerPool,
    claim_job,
    run_worker,
)
from hotline.jobs.store import complete_job
from tests.hotline.jobs.conftest import QueueFactory

FAST = JobSettings(poll_interval_s=0.05, backoff_base_s=0, max_attempts=3, lease_s=60)


def _enqueue(factory: sessionmaker[Session], queue: Any, kind: str = "echo", **payload: Any) -> int:
    with session_scope(factory) as session:
        return queue.enqueue(session, kind=kind, payload=payload)


def _job(factory: sessionmaker[Session], job_id: int) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_job_runs_once_and_is_done(session_factory: sessionmaker[Session], make_queue: QueueFactory) -> None:
    seen: list[tuple[int, dict[str, Any], int]] = []
    queue = make_queue(FAST)
    job_id = _enqueue(session_factory, queue, n=1)
    worker = Worker(
        session_factory=session_factory, queue=queue, settings=FAST,
        handlers={"echo": lambda ctx: seen.append((ctx.job_id, ctx.payload, ctx.attempt))},
    )
    assert worker.run_once() is True
    assert worker.run_once() is False
    assert seen == [(job_id, {"n": 1}, 1)]
    with session_scope(session_factory) as session:
        assert queue.status(session, job_id=job_id).status == JobStatus.done
        with pytest.raises(JobNotFoundError):
            queue.status(session, job_id=job_id + 1000)
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.error, job.locked_until) == (JobStatus.done, 1, None, None)
    assert job.finished_at is not None


def test_failures_retry_with_backoff_then_fail_with_the_error(session_factory: sessionmaker[Session]) -> None:
    settings = JobSettings(backoff_base_s=30, backoff_max_s=45, max_attempts=3)
    assert [settings.backoff_s(n) for n in (1, 2, 3)] == [30, 45, 45]

    def broken(_ctx: JobContext) -> None:
        raise ValueError("scanner exploded")

    queue = DatabaseJobQueue(settings)
    job_id = _enqueue(session_factory, queue)
    worker = Worker(session_factory=session_factory, queue=queue, settings=settings, handlers={"echo": broken})
    assert worker.run_once() is True
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.error) == (JobStatus.pending, 1, "ValueError: scanner exploded")
    assert worker.run_once() is False, "the retry waits for its backoff"

    quick = Worker(session_factory=session_factory, queue=queue, settings=FAST, handlers={"echo": broken})
    with session_scope(session_factory) as session:
        session.get(Job, job_id).run_after = job.created_at  # type: ignore[union-attr]
    assert quick.run_once() is True  # attempt 2, retried at once (backoff 0)
    assert quick.run_once() is True  # attempt 3, the last
    assert quick.run_once() is False
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, job.error) == (JobStatus.failed, 3, "ValueError: scanner exploded")


def test_permanent_errors_and_unknown_kinds_fail_at_once(session_factory: sessionmaker[Session]) -> None:
    def gone(_ctx: JobContext) -> None:
        raise PermanentJobError("submission 7 no longer exists")

    queue = DatabaseJobQueue(FAST)
    permanent = _enqueue(session_factory, queue, kind="gone")
    unknown = _enqueue(session_factory, queue, kind="nobody_handles_this")
    worker = Worker(session_factory=session_factory, queue=queue, settings=FAST, handlers={"gone": gone})
    while worker.run_once():
        pass
    assert (_job(session_factory, permanent).status, _job(session_factory, permanent).attempts) == ("failed", 1)
    assert _job(session_factory, permanent).error == "PermanentJobError: submission 7 no longer exists"
    assert _job(session_factory, unknown).status == "failed"
    assert _job(session_factory, unknown).error == "unknown_job_kind: no handler for 'nobody_handles_this'"


def test_pending_and_interrupted_jobs_resume_after_a_restart(
    session_factory: sessionmaker[Session], make_queue: QueueFactory
) -> None:
    settings = JobSettings(poll_interval_s=0.05, lease_s=1.0, backoff_base_s=0)
    queue = make_queue(settings)
    interrupted = _enqueue(session_factory, queue, n=1)
    waiting = _enqueue(session_factory, queue, n=2)
    crashed = Worker(session_factory=session_factory, queue=queue, settings=settings, handlers={}, name="crashed")
    assert crashed.claim() is not None  # the process dies here, holding the job
    assert _job(session_factory, interrupted).status == "running"

    done: list[int] = []
    fresh = Worker(
        session_factory=session_factory, queue=make_queue(settings), settings=settings, name="fresh",
        handlers={"echo": lambda ctx: done.append(ctx.payload["n"])},
    )
    assert fresh.run_once() is True  # the never-started job runs at once
    assert done == [2]
    assert fresh.run_once() is False, "the interrupted job is still leased"
    time.sleep(1.1)
    assert fresh.run_once() is True
    assert done == [2, 1]
    job = _job(session_factory, interrupted)
    assert (job.status, job.attempts) == ("done", 2)
    assert _job(session_factory, waiting).status == "done"


def test_a_job_abandoned_on_its_last_try_is_failed(session_factory: sessionmaker[Session]) -> None:
    settings = JobSettings(lease_s=0.05, max_attempts=1)
    queue = DatabaseJobQueue(settings)
    job_id = _enqueue(session_factory, queue)
    worker = Worker(session_factory=session_factory, queue=queue, settings=settings, handlers={"echo": print})
    assert worker.claim() is not None
    time.sleep(0.1)
    assert worker.run_once() is False
    job = _job(session_factory, job_id)
    assert job.status == "failed"
    assert job.error is not None and job.error.startswith("worker_lost")


class RecordingHandler:
    """Fails while ``failing`` and records the ``on_failed`` calls."""

    def __init__(self, failing: Exception | None) -> None:
        self.failing = failing
        self.gave_up: list[tuple[int, str]] = []

    def __call__(self, _ctx: JobContext) -> None:
        if self.failing is not None:
            raise self.failing

    def on_failed(self, ctx: JobContext, error: str) -> None:
        self.gave_up.append((ctx.job_id, error))


def test_on_failed_is_called_once_when_a_job_fails_for_good(session_factory: sessionmaker[Session]) -> None:
    settings = JobSettings(backoff_base_s=0, max_attempts=2, lease_s=0.05)
    queue = DatabaseJobQueue(settings)
    flaky = RecordingHandler(RuntimeError("id 110105194912310021 unreadable"))
    retried = _enqueue(session_factory, queue, kind="flaky")
    worker = Worker(session_factory=session_factory, queue=queue, settings=settings, handlers={"flaky": flaky})
    assert worker.run_once() is True
    assert flaky.gave_up == [], "a try that will be retried is not a failure for good"
    assert worker.run_once() is True
    assert flaky.gave_up == [(retried, "RuntimeError: id 110105********0021 unreadable")]

    permanent = RecordingHandler(PermanentJobError("gone"))
    gone = _enqueue(session_factory, queue, kind="gone")
    Worker(session_factory=session_factory, queue=queue, settings=settings, handlers={"gone": permanent}).run_once()
    assert permanent.gave_up == [(gone, "PermanentJobError: gone")]

    lost = RecordingHandler(None)
    abandoned = _enqueue(session_factory, queue, kind="lost")
    lost_settings = settings.model_copy(update={"max_attempts": 1})
    with session_scope(session_factory) as session:
        session.get(Job, abandoned).max_attempts = 1  # type: ignore[union-attr]
    dying = Worker(session_factory=session_factory, queue=queue, settings=lost_settings, handlers={"lost": lost})
    assert dying.claim() is not None
    time.sleep(0.1)
    assert dying.run_once() is False
    assert lost.gave_up == [(abandoned, "worker_lost: the worker stopped during the last allowed attempt")]


def test_a_worker_whose_lease_was_taken_over_cannot_finish_the_job(session_factory: sessionmaker[Session]) -> None:
    queue = DatabaseJobQueue(FAST)
    job_id = _enqueue(session_factory, queue)
    with session_scope(session_factory) as session:
        first = claim_job(session, worker="slow", lease_s=0.01)
    time.sleep(0.05)
    with session_scope(session_factory) as session:
        second = claim_job(session, worker="fast", lease_s=60)
    assert first is not None and second is not None and first.id == second.id == job_id
    with session_scope(session_factory) as session:
        assert complete_job(session, job=first) is False
        assert complete_job(session, job=second) is True


def test_concurrent_workers_run_each_job_exactly_once(
    session_factory: sessionmaker[Session], make_queue: QueueFactory
) -> None:
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def count(ctx: JobContext) -> None:
        with lock:
            runs[ctx.payload["n"]] += 1

    queue = make_queue(FAST)
    for n in range(24):
        _enqueue(session_factory, queue, n=n)
    pool = WorkerPool(session_factory=session_factory, queue=queue, handlers={"echo": count}, settings=FAST, threads=4)
    pool.start()
    deadline = time.monotonic() + 30
    while sum(runs.values()) < 24 and time.monotonic() < deadline:
        time.sleep(0.05)
    pool.stop(timeout_s=10)
    assert runs == Counter(range(24))
    with session_scope(session_factory) as session:
        assert set(session.scalars(select(Job.status))) == {"done"}


def test_run_worker_runs_jobs_until_stopped(settings: HotlineSettings, session_factory: sessionmaker[Session]) -> None:
    done = threading.Event()
    job_id = _enqueue(session_factory, DatabaseJobQueue(FAST))
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        kwargs={"settings": settings, "job_settings": FAST, "handlers": {"echo": lambda _ctx: done.set()}, "stop": stop},
    )
    thread.start()
    try:
        assert done.wait(10)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    for _ in range(50):
        if _job(session_factory, job_id).status == "done":
            break
        time.sleep(0.02)
    assert _job(session_factory, job_id).status == "done"


@pytest.mark.redis
def test_redis_queue_carries_ids_after_commit_and_wakes_workers(
    redis_url: str, session_factory: sessionmaker[Session]
) -> None:
    key = f"hotline:test:jobs:{os.getpid()}:{time.monotonic_ns()}"
    settings = JobSettings(redis_url=redis_url, redis_key=key, poll_interval_s=5, backoff_base_s=0)
    queue = RedisJobQueue.from_url(settings, redis_url)
    try:
        with session_scope(session_factory) as session:
            job_id = queue.enqueue(session, kind="echo", payload={})
            assert queue.client.llen(key) == 0, "nothing is announced before the commit"
        assert queue.client.lrange(key, 0, -1) == [str(job_id).encode()]
        with pytest.raises(RuntimeError), session_scope(session_factory) as session:
            queue.enqueue(session, kind="echo", payload={})
            raise RuntimeError("rolled back")
        assert queue.client.llen(key) == 1, "a rolled-back job is never announced"
        queue.client.delete(key)

        ran = threading.Event()
        pool = WorkerPool(session_factory=session_factory, queue=queue, settings=settings,
                          handlers={"echo": lambda _ctx: ran.set()}, threads=1)
        with session_scope(session_factory) as session:
            session.get(Job, job_id).status = "done"  # type: ignore[union-attr]
        pool.start()
        time.sleep(0.2)  # the worker is now blocked on Redis, not polling (poll interval 5 s)
        started = time.monotonic()
        _enqueue(session_factory, queue)
        assert ran.wait(4)
        assert time.monotonic() - started < 3
        pool.stop(timeout_s=10)
    finally:
        queue.client.close()
        cleanup = RedisJobQueue.from_url(settings, redis_url)
        cleanup.client.delete(key)
        cleanup.close()
