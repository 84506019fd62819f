"""A real worker process killed mid-job: a new worker finishes the job once the lease runs out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline import HotlineSettings
from hotline.db import session_scope
from hotline.jobs import DatabaseJobQueue, Job, JobSettings, Worker
from tests.conftest import REPO_ROOT

WORKER_SCRIPT = """
import pathlib, sys, time
from hotline import HotlineSettings
from hotline.jobs import JobSettings, run_worker

marker = pathlib.Path(sys.argv[1])

def stuck(context):
    marker.write_text(str(context.job_id))
    time.sleep(600)

run_worker(HotlineSettings(), job_settings=JobSettings(lease_s=1.0, poll_interval_s=0.05, worker_threads=1),
           handlers={"echo": stuck})
"""


def test_a_killed_worker_process_does_not_lose_its_job(
    settings: HotlineSettings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    job_settings = JobSettings(lease_s=1.0, poll_interval_s=0.05, backoff_base_s=0)
    with session_scope(session_factory) as session:
        job_id = DatabaseJobQueue(job_settings).enqueue(session, kind="echo", payload={"n": 1})
    marker = tmp_path / "started"
    env = {
        **os.environ,
        "HOTLINE_ENVIRONMENT": "test",
        "HOTLINE_SECRET_KEY": settings.secret_key or "",
        "HOTLINE_DATABASE_URL": settings.resolved_database_url,
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(marker)], env=env, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, "the worker process exited early"
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
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

    finished: list[int] = []
    successor = Worker(
        session_factory=session_factory, queue=DatabaseJobQueue(job_settings), settings=job_settings,
        handlers={"echo": lambda ctx: finished.append(ctx.job_id)},
    )
    deadline = time.monotonic() + 10
    while not successor.run_once():
        assert time.monotonic() < deadline, "the job was never released"
        time.sleep(0.1)
    assert finished == [job_id]
    with session_scope(session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.attempts, job.error) == ("done", 2, None)
