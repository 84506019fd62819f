"""A real worker process: it keeps its job past the lease while alive; killed, a new worker finishes the job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline import HotlineSettings
from hotline.db import session_scope
from hotline.jobs import DatabaseJobQueue, Job, JobSettings, RedisJobQueue, Worker
from tests.conftest import REPO_ROOT
from tests.hotline.jobs.conftest import QueueFactory

WORKER_SCRIPT = """
import pathlib, sys, time
from hotline import HotlineSettings
from hotline.jobs import JobSettings, run_worker

marker, redis = pathlib.Path(sys.argv[1]), dict(zip(("redis_url", "redis_key"), sys.argv[2:]))

def stuck(context):
    marker.write_text(str(context.job_id))
    time.sleep(600)

job_settings = JobSettings(lease_s=1.0, poll_interval_s=0.05, worker_threads=1, **redis)
run_worker(HotlineSettings(), job_settings=job_settings, handlers={"echo": stuck})
"""


def test_a_worker_process_keeps_its_job_while_alive_and_loses_it_when_killed(
    settings: HotlineSettings, session_factory: sessionmaker[Session], tmp_path: Path, make_queue: QueueFactory
) -> None:
    job_settings = JobSettings(lease_s=1.0, poll_interval_s=0.05, backoff_base_s=0)
    queue = make_queue(job_settings)
    with session_scope(session_factory) as session:
        job_id = queue.enqueue(session, kind="echo", payload={"n": 1})
    redis = [str(queue.settings.redis_url), queue.settings.redis_key] if isinstance(queue, RedisJobQueue) else []
    finished: list[int] = []
    successor = Worker(
        session_factory=session_factory, queue=DatabaseJobQueue(job_settings), settings=job_settings,
        handlers={"echo": lambda ctx: finished.append(ctx.job_id)},
    )
    marker = tmp_path / "started"
    env = {
        **os.environ,
        "HOTLINE_ENVIRONMENT": "test",
        "HOTLINE_SECRET_KEY": settings.secret_key or "",
        "HOTLINE_DATABASE_URL": settings.resolved_database_url,
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(marker), *redis], env=env, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, "the worker process exited early"
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        alive_until = time.monotonic() + 2.5 * job_settings.lease_s
        while time.monotonic() < alive_until:
            assert successor.run_once() is False, "the job was claimed again while its worker was alive"
            time.sleep(0.1)
        assert process.poll() is None
        process.kill()
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert marker.read_text() == str(job_id)
    with session_scope(session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.attempts) == ("running", 1)

    deadline = time.monotonic() + 10
    while not successor.run_once():
        assert time.monotonic() < deadline, "the job was never released"
        time.sleep(0.1)
    assert finished == [job_id]
    with session_scope(session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.attempts, job.error) == ("done", 2, None)
