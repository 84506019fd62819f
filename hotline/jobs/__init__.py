"""Background jobs: durable rows in the app database, worker threads or processes, optional Redis wake-ups."""

from hotline.jobs.models import Job, JobStatus
from hotline.jobs.queue import DatabaseJobQueue, JobQueue, RedisJobQueue
from hotline.jobs.settings import JobSettings
from hotline.jobs.store import ClaimedJob, JobNotFoundError, claim_job, enqueue_job, get_job
from hotline.jobs.worker import (
    JobContext,
    JobHandler,
    LeaseHeartbeat,
    LeaseLostError,
    PermanentJobError,
    Worker,
    WorkerPool,
    create_queue,
    run_worker,
)

__all__ = [
    "ClaimedJob",
    "DatabaseJobQueue",
    "Job",
    "JobContext",
    "JobHandler",
    "JobNotFoundError",
    "JobQueue",
    "JobSettings",
    "JobStatus",
    "LeaseHeartbeat",
    "LeaseLostError",
    "PermanentJobError",
    "RedisJobQueue",
    "Worker",
    "WorkerPool",
    "claim_job",
    "create_queue",
    "enqueue_job",
    "get_job",
    "run_worker",
]
