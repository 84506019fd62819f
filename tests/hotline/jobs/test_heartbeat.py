"""Lease renewal: a live worker keeps a job that outlives its lease; a silent worker's job is claimed again."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from hotline.db import session_scope
from hotline.jobs import Job, JobContext, JobSettings, LeaseHeartbeat, LeaseLostError, Worker, claim_job
from hotline.jobs.store import renew_lease
from tests.hotline.jobs.conftest import QueueFactory

SHORT_LEASE = JobSettings(poll_interval_s=0.05, backoff_base_s=0, lease_s=0.6)


def _enqueue(factory: sessionmaker[Session], queue: Any) -> int:
    with session_scope(factory) as session:
        return queue.enqueue(session, kind="slow", payload={})


def _job(factory: sessionmaker[Session], job_id: int) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_job_running_past_its_lease_is_not_claimed_again_while_its_worker_heartbeats(
    session_factory: sessionmaker[Session], make_queue: QueueFactory
) -> None:
    queue = make_queue(SHORT_LEASE)
    job_id = _enqueue(session_factory, queue)
    started, runs = threading.Event(), []

    def slow(ctx: JobContext) -> None:
        runs.append(ctx.attempt)
        started.set()
        time.sleep(2.0)  # more than three leases

    owner = Worker(session_factory=session_factory, queue=queue, settings=SHORT_LEASE, handlers={"slow": slow},
                   name="owner")
    rival = Worker(session_factory=session_factory, queue=make_queue(SHORT_LEASE), settings=SHORT_LEASE,
                   handlers={"slow": slow}, name="rival")
    thread = threading.Thread(target=owner.run_once)
    thread.start()
    assert started.wait(10)
    while thread.is_alive():
        assert rival.run_once() is False, "the job was claimed again while its worker was alive"
        time.sleep(0.05)
    thread.join()
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, runs) == ("done", 1, [1])


def test_a_job_whose_worker_stops_heartbeating_is_claimed_again_and_the_first_result_dropped(
    session_factory: sessionmaker[Session], make_queue: QueueFactory
) -> None:
    queue = make_queue(SHORT_LEASE)
    job_id = _enqueue(session_factory, queue)
    with session_scope(session_factory) as session:
        stalled = claim_job(session, worker="stalled", lease_s=SHORT_LEASE.lease_s)
    assert stalled is not None and stalled.id == job_id
    stored: list[str] = []

    def store(ctx: JobContext) -> None:
        ctx.ensure_lease()
        stored.append(ctx.payload.get("by", "successor"))

    successor = Worker(session_factory=session_factory, queue=queue, settings=SHORT_LEASE, handlers={"slow": store})
    assert successor.run_once() is False, "the lease still holds"
    time.sleep(SHORT_LEASE.lease_s + 0.1)  # the stalled worker never renewed
    with LeaseHeartbeat(session_factory=session_factory, job=stalled, lease_s=60, interval_s=0.05) as late:
        assert successor.run_once() is True
        assert late.lost.wait(5), "the stalled worker learns that its job was taken over"
    context = JobContext(job_id=job_id, kind="slow", payload={"by": "stalled"}, attempt=1, max_attempts=3,
                         session_factory=session_factory, lease_lost=late.lost)
    with pytest.raises(LeaseLostError, match="lease taken over"):
        store(context)
    job = _job(session_factory, job_id)
    assert (job.status, job.attempts, stored) == ("done", 2, ["successor"])


def test_renewal_is_fenced_by_the_claim_token(session_factory: sessionmaker[Session], make_queue: QueueFactory) -> None:
    queue = make_queue(SHORT_LEASE)
    _enqueue(session_factory, queue)
    with session_scope(session_factory) as session:
        first = claim_job(session, worker="first", lease_s=0.01)
    time.sleep(0.05)
    with session_scope(session_factory) as session:
        second = claim_job(session, worker="second", lease_s=0.5)
    assert first is not None and second is not None
    with session_scope(session_factory) as session:
        assert renew_lease(session, job=first, lease_s=60) is False
        assert renew_lease(session, job=second, lease_s=60) is True
    locked_until = _job(session_factory, second.id).locked_until
    assert locked_until is not None and (locked_until - _job(session_factory, second.id).started_at).total_seconds() > 50


def test_the_heartbeat_must_be_shorter_than_the_lease() -> None:
    assert JobSettings(lease_s=600).heartbeat_interval_s == 200
    assert JobSettings(lease_s=2, heartbeat_s=0.5).heartbeat_interval_s == 0.5
    with pytest.raises(ValidationError, match="HOTLINE_JOBS_HEARTBEAT_S"):
        JobSettings(lease_s=2, heartbeat_s=2)
