"""Settings of the pre-review pipeline: one flat object, read from ``PREREVIEW_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PrereviewSettings(BaseSettings):
    """Every tunable of the pre-review pipeline; each field is documented in docs/prereview-intake.md."""

    model_config = SettingsConfigDict(env_prefix="PREREVIEW_", extra="ignore")

    # Intake: limits on untrusted uploads.
    max_file_mb: float = Field(default=20.0, gt=0, description="Largest accepted upload, in MiB.")
    max_pages: int = Field(default=30, ge=1, description="Most pages (PDF pages or TIFF frames) decoded per file.")
    max_pixels_per_page: int = Field(
        default=100_000_000, ge=1, description="Most pixels (width x height) one page may declare; more is refused."
    )
    max_pixels_per_file: int = Field(
        default=300_000_000, ge=1, description="Most pixels decoded across all pages of one file."
    )
    max_image_side_px: int = Field(default=20_000, ge=1, description="Longest side one page may declare, in pixels.")
    pdf_max_objects: int = Field(default=500_000, ge=1, description="Most indirect objects a PDF may hold.")
    pdf_max_stream_mb: float = Field(
        default=100.0, gt=0, description="Largest decompressed size of one PDF stream, in MiB."
    )
    pdf_timeout_s: float = Field(default=60.0, gt=0, description="Wall-clock limit for one PDF, in seconds.")
    pdf_memory_mb: int = Field(default=1536, ge=256, description="Address-space limit of the PDF worker, in MiB.")
    page_timeout_s: float = Field(default=20.0, gt=0, description="Wall-clock limit for one PDF page, in seconds.")
    render_dpi: int = Field(default=200, ge=36, le=600, description="Resolution for rendering scanned PDF pages.")
    preview_dpi: int = Field(
        default=100, ge=36, le=600, description="Resolution of the cheap rendering of PDF pages with a text layer."
    )

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def pdf_max_stream_bytes(self) -> int:
        """``pdf_max_stream_mb`` in bytes."""
        return int(self.pdf_max_stream_mb * 1024 * 1024)
