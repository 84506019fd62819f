"""Pages: what intake hands to the rest of the pipeline, one per image or PDF page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from prereview.report import Finding


@dataclass(frozen=True)
class TextLine:
    """A line of text on a page, from OCR or a PDF text layer; bbox is [x0, y0, x1, y1] in page pixels."""

    text: str
    bbox: tuple[float, float, float, float]
    confidence: float = 1.0


@dataclass
class Page:
    """One page of one uploaded file, ready for the quality gate and OCR.

    ``image`` is BGR uint8 (OpenCV order), EXIF orientation applied and metadata dropped. Pages
    whose PDF text layer is usable carry ``text_lines`` and ``source == "pdf_text"``; the
    pipeline then skips OCR for them (the image, if any, is a low-resolution rendering used only
    for seal and signature detection). ``dpi`` is the resolution of ``image`` and ``text_dpi`` that
    of the ``text_lines`` bboxes (both None for uploaded images, whose bboxes are image pixels);
    scale a text bbox onto the image by ``dpi / text_dpi``. ``pdf_content`` records what intake
    found on a PDF page: "text_layer", "scanned" (images cover the page, no usable text),
    "no_text" (neither: vector drawings, outlined text, a blank page) or "text_unextractable"
    (characters without a Unicode mapping, e.g. fonts lacking a ToUnicode map).
    """

    file: str
    number: int
    source: Literal["image", "pdf_text", "pdf_scan"]
    image: np.ndarray | None = None
    text_lines: list[TextLine] = field(default_factory=list)
    dpi: float | None = None
    text_dpi: float | None = None
    pdf_content: Literal["text_layer", "scanned", "no_text", "text_unextractable"] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the page image, or (0, 0) when there is none."""
        if self.image is None:
            return (0, 0)
        height, width = self.image.shape[:2]
        return (width, height)


@dataclass
class IntakeResult:
    """Pages decoded from one file, and findings for what could not be decoded."""

    file: str
    media_type: str | None
    pages: list[Page] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
