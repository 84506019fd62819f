"""Submission fixtures: the app with the submissions router and its lifespan running, a fake reviewer, test files."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from hotline import HotlineSettings, create_app
from hotline.jobs import JobSettings
from hotline.submissions import FakeReviewer, SubmissionSettings
from prereview import Finding, FindingCode

A_CODE = "mzj-jhdj"  # marriage registration, 民政局 (DEPT_A)
VALID_ID = "11010519491231002X"
LOW_CONFIDENCE_BOX = [100.0, 150.0, 500.0, 260.0]


def png_page(seed: int, size: tuple[int, int] = (800, 1000)) -> bytes:
    """A deterministic page-like PNG: a white sheet with dark bars for text."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for row in range(12):
        width = 200 + (seed * 37 + row * 53) % 400
        draw.rectangle([80, 100 + row * 70, 80 + width, 130 + row * 70], fill=(20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def reviewer() -> FakeReviewer:
    """The deterministic reviewer plus one low-confidence finding boxed on page 1 of the first file."""
    return FakeReviewer(extra_findings=[Finding(
        code=FindingCode.low_confidence, severity="warning", material="id_cards", file="id-front.png", page=1,
        bbox=LOW_CONFIDENCE_BOX, message="身份证照片上的姓名识别不清，请确认照片清晰。", detail="ocr mean confidence 0.41",
        confidence=0.41,
    )])


@pytest.fixture
def job_settings() -> JobSettings:
    """Fast in-app workers."""
    return JobSettings(in_app_workers=1, poll_interval_s=0.05, backoff_base_s=0, lease_s=60)


@pytest.fixture
def submission_settings() -> SubmissionSettings:
    """Small upload limits so that the limit tests stay cheap."""
    return SubmissionSettings(max_file_mb=0.25, max_files=3, progress_poll_ms=500)


def build_app(
    settings: HotlineSettings, reviewer: FakeReviewer, job_settings: JobSettings, submission_settings: SubmissionSettings
) -> FastAPI:
    """The app with test engines on app.state (read by the submissions lifespan at startup)."""
    app = create_app(settings)
    app.state.reviewer = reviewer
    app.state.job_settings = job_settings
    app.state.submission_settings = submission_settings
    return app


@pytest.fixture
def app(
    settings: HotlineSettings,
    reviewer: FakeReviewer,
    job_settings: JobSettings,
    submission_settings: SubmissionSettings,
) -> Iterator[FastAPI]:
    """The app with its lifespan running (store, queue, in-app workers) for the whole test."""
    application = build_app(settings, reviewer, job_settings, submission_settings)
    with TestClient(application):
        yield application


def wait_finished(client: TestClient, reference: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll the progress endpoint until the pre-review has finished."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/api/v1/submissions/{reference}").json()
        if body["finished"] or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
