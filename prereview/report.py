"""The pre-review report: a stable JSON contract shared by the CLI (``--json``) and the API.

Finding codes are stable snake_case strings; every code is documented in docs/prereview.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class FindingCode(StrEnum):
    """Every finding the pipeline can raise."""

    unsupported_file = "unsupported_file"
    file_too_large = "file_too_large"
    too_many_pages = "too_many_pages"
    image_too_large = "image_too_large"
    encrypted_pdf = "encrypted_pdf"
    broken_file = "broken_file"
    processing_timeout = "processing_timeout"
    unreadable_page = "unreadable_page"
    image_blurry = "image_blurry"
    image_too_dark = "image_too_dark"
    image_overexposed = "image_overexposed"
    image_low_resolution = "image_low_resolution"
    document_cropped = "document_cropped"
    document_rotated = "document_rotated"
    wrong_document = "wrong_document"
    material_missing = "material_missing"
    field_missing = "field_missing"
    id_number_invalid = "id_number_invalid"
    id_birthdate_mismatch = "id_birthdate_mismatch"
    uscc_invalid = "uscc_invalid"
    document_expired = "document_expired"
    name_mismatch = "name_mismatch"
    id_number_mismatch = "id_number_mismatch"
    uscc_mismatch = "uscc_mismatch"
    legal_representative_mismatch = "legal_representative_mismatch"
    address_mismatch = "address_mismatch"
    seal_missing = "seal_missing"
    seal_name_mismatch = "seal_name_mismatch"
    signature_missing = "signature_missing"
    low_confidence = "low_confidence"


Severity = Literal["blocking", "warning", "info"]
Verdict = Literal["pass", "needs_fix", "needs_review"]
MaterialStatus = Literal["ok", "missing", "defective", "uncertain"]


class Finding(BaseModel):
    """One problem (or note) found in the submitted files."""

    code: FindingCode
    severity: Severity
    material: str | None = None
    file: str | None = None
    page: int | None = Field(default=None, description="1-based page number within the file")
    bbox: list[float] | None = Field(default=None, description="[x0, y0, x1, y1] in page pixels")
    message: str = Field(description="Plain Simplified Chinese, for the citizen")
    detail: str = Field(default="", description="Technical detail, for the clerk")
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class MaterialResult(BaseModel):
    """Whether one required material of the service was found and is usable."""

    material: str
    status: MaterialStatus
    pages: list[tuple[str, int]] = Field(default_factory=list)


class Report(BaseModel):
    """The full pre-review result for one application (or one inspection without a service)."""

    service: str | None = None
    service_version: int | None = None
    verdict: Verdict
    materials: list[MaterialResult] | None = None
    findings: list[Finding] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """The documented JSON shape; ``materials`` is left out for an inspection."""
        return self.model_dump(mode="json", exclude_none=False, exclude={"materials"} if self.materials is None else None)
