"""Settings of the job queue, read from ``HOTLINE_JOBS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    """Every tunable of the job queue; each is documented in docs/review-queue.md."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_JOBS_", env_file=None, extra="ignore")

    in_app_workers: int = Field(default=1, ge=0, le=32, description="Worker threads inside the web app (0: none)")
    worker_threads: int = Field(default=2, ge=1, le=64, description="Worker threads of `run_worker`")
    poll_interval_s: float = Field(default=2.0, gt=0, le=300, description="Longest idle wait between DB polls")
    lease_s: float = Field(default=600.0, gt=0, description="How long a claimed job stays locked to its worker")
    heartbeat_s: float = Field(
        default=0, ge=0, description="How often a running job's lease is renewed (0: a third of lease_s)"
    )
    max_attempts: int = Field(default=3, ge=1, le=100, description="Tries before a job is marked failed")
    backoff_base_s: float = Field(default=5.0, ge=0, description="Wait before the first retry; doubles each try")
    backoff_max_s: float = Field(default=600.0, ge=0, description="Longest wait between retries")
    redis_url: str | None = Field(default=None, description="Redis URL; when set, job ids travel through Redis")
    redis_key: str = Field(default="hotline:jobs", min_length=1, description="Redis list carrying job ids")

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> JobSettings:
        if self.heartbeat_s >= self.lease_s:
            raise ValueError(
                f"HOTLINE_JOBS_HEARTBEAT_S ({self.heartbeat_s}) must be shorter than HOTLINE_JOBS_LEASE_S ({self.lease_s})"
            )
        return self

    @property
    def heartbeat_interval_s(self) -> float:
        """Seconds between lease renewals of a running job."""
        return self.heartbeat_s or self.lease_s / 3

    def backoff_s(self, attempts: int) -> float:
        """Wait before the next try after ``attempts`` failed tries (exponential, capped)."""
        return min(self.backoff_max_s, self.backoff_base_s * 2 ** max(attempts - 1, 0))
