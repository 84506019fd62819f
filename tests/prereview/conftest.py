"""Shared fixtures for the pre-review analysis tests: one RapidOCR engine per session."""

from __future__ import annotations

import pytest

from prereview.ocr import CachedOcrEngine, RapidOcrEngine


@pytest.fixture(scope="session")
def rapid_ocr() -> CachedOcrEngine:
    """RapidOCR loaded once for the whole test session, with an in-memory cache."""
    return CachedOcrEngine(RapidOcrEngine(max_side_px=960))
