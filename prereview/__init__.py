"""Document pre-review: intake, quality gate, OCR, material matching, field checks, report."""

from prereview.ocr import CachedOcrEngine, FakeOcrEngine, OcrEngine, PaddleOcrEngine, RapidOcrEngine
from prereview.pipeline import Analysis, PageProgress, Pipeline, verdict_of
from prereview.report import Finding, FindingCode, MaterialResult, Report
from prereview.settings import PrereviewSettings

__all__ = [
    "Analysis",
    "CachedOcrEngine",
    "FakeOcrEngine",
    "Finding",
    "FindingCode",
    "MaterialResult",
    "OcrEngine",
    "PaddleOcrEngine",
    "PageProgress",
    "Pipeline",
    "PrereviewSettings",
    "RapidOcrEngine",
    "Report",
    "verdict_of",
]
