"""Settings of the job queue, read from ``HOTLINE_JOBS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    """Every tunable of the job queue; each is documented in docs/review-queue.md."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_JOBS_", env_file=None, extra="ignore")

    in_app_workers: int = Field(default=1, ge=0, le=32, description="Worker threads inside the web app (0: none)")
    worker_threads: int = Field(default=2, ge=1, le=64, description="Worker threads of `run_worker`")
    poll_interval_s: float = Field(default=2.0, gt=0, le=300, description="Longest idle wait between DB polls")
    lease_s: float = Field(default=600.0, gt=0, description="How long a claimed job stays locked to its worker")
    max_attempts: int = Field(default=3, ge=1, le=100, description="Tries before a job is marked failed")
    backoff_base_s: float = Field(default=5.0, ge=0, description="Wait before the first retry; doubles each try")
    backoff_max_s: float = Field(default=600.0, ge=0, description="Longest wait between retries")
    redis_url: str | None = Field(default=None, description="Redis URL; when set, job ids travel through Redis")
    redis_key: str = Field(default="hotline:jobs", min_length=1, description="Redis list carrying job ids")

    def backoff_s(self, attempts: int) -> float:
        """Wait before the next try after ``attempts`` failed tries (exponential, capped)."""
        return min(self.backoff_max_s, self.backoff_base_s * 2 ** max(attempts - 1, 0))
