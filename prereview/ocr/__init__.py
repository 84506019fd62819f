"""OCR engines behind one small Protocol: RapidOCR (default), PaddleOCR (optional), a fake, and a cache."""

from prereview.ocr.cache import CachedOcrEngine, page_hash
from prereview.ocr.engines import (
    FakeOcrEngine,
    OcrEngine,
    OcrUnavailableError,
    PaddleOcrEngine,
    RapidOcrEngine,
)

__all__ = [
    "CachedOcrEngine",
    "FakeOcrEngine",
    "OcrEngine",
    "OcrUnavailableError",
    "PaddleOcrEngine",
    "RapidOcrEngine",
    "page_hash",
]
