"""Settings of citizen submissions, read from ``HOTLINE_SUBMISSIONS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SubmissionSettings(BaseSettings):
    """Upload limits and the result page's polling; each is documented in docs/review-queue.md."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_SUBMISSIONS_", env_file=None, extra="ignore")

    max_file_mb: float = Field(default=10.0, gt=0, le=1024, description="Largest single uploaded file, in MiB")
    max_files: int = Field(default=10, ge=1, le=100, description="Most files in one submission")
    max_field_chars: int = Field(default=500, ge=10, description="Longest text field of the upload form")
    progress_poll_ms: int = Field(default=1500, ge=200, description="How often the result page polls progress")

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes."""
        return int(self.max_file_mb * 1024 * 1024)
