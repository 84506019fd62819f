"""Fixtures for the intake tests: settings with small limits so bombs stay cheap to refuse."""

from __future__ import annotations

import pytest

from prereview.settings import PrereviewSettings


@pytest.fixture
def settings() -> PrereviewSettings:
    """Default limits except smaller pixel budgets, so the tests stay fast and memory-light."""
    return PrereviewSettings(
        max_pixels_per_page=20_000_000,
        max_pixels_per_file=40_000_000,
        max_image_side_px=12_000,
        pdf_timeout_s=30,
        page_timeout_s=15,
    )
