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
    pdf_pool_workers: int = Field(
        default=2, ge=0, description="Idle sandboxed PDF worker processes kept warm (0 = a fresh worker per PDF)."
    )
    pdf_worker_max_files: int = Field(
        default=50, ge=1, description="PDF files one worker process handles before it is replaced."
    )
    render_dpi: int = Field(default=200, ge=36, le=600, description="Resolution for rendering scanned PDF pages.")
    preview_dpi: int = Field(
        default=100, ge=36, le=600, description="Resolution of the cheap rendering of PDF pages with a text layer."
    )

    # Analysis: OCR, quality gate and checks (documented in docs/prereview.md).
    ocr_engine: str = Field(default="rapidocr", pattern="^(rapidocr|paddleocr)$", description="OCR engine to load.")
    ocr_max_side_px: int = Field(default=960, ge=0, description="Pages are shrunk to this longest side before OCR.")
    ocr_threads: int = Field(default=0, ge=0, description="onnxruntime threads per OCR engine (0 = automatic).")
    ocr_cache_entries: int = Field(default=256, ge=0, description="Pages whose OCR result is kept in memory.")
    ocr_cache_dir: str | None = Field(default=None, description="Folder for OCR results keyed by page hash.")
    paddle_det_model_dir: str | None = Field(default=None, description="Local PaddleOCR detection model folder.")
    paddle_rec_model_dir: str | None = Field(default=None, description="Local PaddleOCR recognition model folder.")
    quality_min_sharpness: float = Field(default=150.0, ge=0, description="Least Laplacian variance, sharpest tiles.")
    quality_min_brightness: float = Field(default=90.0, ge=0, le=255, description="Least 90th-percentile grey level.")
    quality_max_saturated_share: float = Field(default=0.5, gt=0, le=1, description="Most share of white pixels.")
    quality_min_ink_level: float = Field(default=80.0, ge=0, le=255, description="Overexposed if the ink is lighter.")
    quality_min_short_side_px: int = Field(default=300, ge=1, description="Least short side of a page, in pixels.")
    quality_min_long_side_px: int = Field(default=500, ge=1, description="Least long side of a page, in pixels.")
    min_ocr_confidence: float = Field(default=0.85, ge=0, le=1, description="Lines read less surely need review.")
    min_classification_margin: float = Field(default=0.25, ge=0, le=1, description="Least lead of the page type.")
    signature_min_ink_share: float = Field(default=0.03, gt=0, le=1, description="Ink share that counts as signed.")
    evidence_side_px: int = Field(default=1000, ge=100, description="Longest side of the page JPEGs for evidence.")

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes."""
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def pdf_max_stream_bytes(self) -> int:
        """``pdf_max_stream_mb`` in bytes."""
        return int(self.pdf_max_stream_mb * 1024 * 1024)
