"""The pre-review job outside the web process: resume after a crash, retries, failure, masking."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline import HotlineSettings
from hotline.db import session_scope
from hotline.jobs import DatabaseJobQueue, Job, JobSettings, Worker
from hotline.submissions import (
    FakeReviewer,
    PipelineReviewer,
    ReviewerUnavailableError,
    Submission,
    create_handlers,
    mask_form,
    mask_id_number,
    mask_phone,
)
from prereview.ocr import FakeOcrEngine
from prereview.pages import TextLine
from prereview.pipeline import Pipeline
from prereview.settings import PrereviewSettings
from tests.hotline.submissions.conftest import A_CODE, VALID_ID, png_page


@pytest.fixture
def job_settings() -> JobSettings:
    """No workers in the web app: the tests below play the separate worker process."""
    return JobSettings(in_app_workers=0, poll_interval_s=0.05, backoff_base_s=0, lease_s=0.2, max_attempts=2)


def _submit(client: TestClient) -> str:
    client.get(f"/apply/{A_CODE}")
    response = client.post(
        "/api/v1/submissions", data={"service": A_CODE, "id_number": VALID_ID},
        files=[("files", ("id-front.png", png_page(1), "image/png"))],
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 202, response.text
    return response.json()["reference"]


def _worker(
    settings: HotlineSettings, factory: sessionmaker[Session], job_settings: JobSettings, reviewer: object
) -> Worker:
    handlers = create_handlers(settings, reviewer=reviewer)  # type: ignore[arg-type]
    return Worker(session_factory=factory, queue=DatabaseJobQueue(job_settings), handlers=handlers, settings=job_settings)


def _state(factory: sessionmaker[Session], reference: str) -> tuple[Submission, Job]:
    with session_scope(factory) as session:
        submission = session.scalar(select(Submission).where(Submission.reference == reference))
        assert submission is not None and submission.job_id is not None
        job = session.get(Job, submission.job_id)
        assert job is not None
        return submission, job


def test_a_submission_interrupted_mid_review_completes_after_a_restart(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str], settings: HotlineSettings,
    session_factory: sessionmaker[Session], job_settings: JobSettings, reviewer: FakeReviewer,
) -> None:
    citizen = make_client(None)
    reference = _submit(citizen)
    assert citizen.get(f"/api/v1/submissions/{reference}").json()["status"] == "queued"

    crashed = _worker(settings, session_factory, job_settings, reviewer)
    assert crashed.claim() is not None  # the worker process dies right after claiming
    with session_scope(session_factory) as session:
        session.scalar(select(Submission).where(Submission.reference == reference)).status = "processing"  # type: ignore[union-attr]
    progress = citizen.get(f"/api/v1/submissions/{reference}").json()
    assert (progress["status"], progress["finished"], progress["job_status"]) == ("processing", False, "running")

    time.sleep(0.3)  # the lease runs out
    restarted = _worker(settings, session_factory, job_settings, reviewer)
    assert restarted.run_once() is True
    submission, job = _state(session_factory, reference)
    assert (submission.status, job.status, job.attempts) == ("needs_fix", "done", 2)
    assert len(submission.pages) == 1
    assert citizen.get(f"/api/v1/submissions/{reference}").json()["finished"] is True


class BrokenReviewer(FakeReviewer):
    """A reviewer whose engine keeps crashing."""

    def review(self, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("onnxruntime session died")


def test_a_review_that_keeps_failing_is_retried_then_marked_failed(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str], settings: HotlineSettings,
    session_factory: sessionmaker[Session], job_settings: JobSettings,
) -> None:
    citizen = make_client(None)
    reference = _submit(citizen)
    worker = _worker(settings, session_factory, job_settings, BrokenReviewer())
    assert worker.run_once() is True
    submission, job = _state(session_factory, reference)
    assert (submission.status, job.status, job.attempts) == ("processing", "pending", 1)
    assert worker.run_once() is True
    submission, job = _state(session_factory, reference)
    assert (job.status, job.error) == ("failed", "RuntimeError: onnxruntime session died")
    assert (submission.status, submission.error) == ("failed", "RuntimeError: onnxruntime session died")
    page = citizen.get(f"/submissions/{reference}")
    assert "工作人员将人工审核您的材料" in page.text


def test_a_missing_pipeline_fails_the_submission_at_once(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str], settings: HotlineSettings,
    session_factory: sessionmaker[Session], job_settings: JobSettings,
) -> None:
    def no_models() -> None:
        raise ReviewerUnavailableError("prereview pipeline unavailable: OCR models missing")

    reference = _submit(make_client(None))
    assert _worker(settings, session_factory, job_settings, PipelineReviewer(no_models)).run_once() is True
    submission, job = _state(session_factory, reference)
    assert (submission.status, job.status, job.attempts) == ("failed", "failed", 1)
    assert "OCR models missing" in (job.error or "")


def test_a_submission_whose_worker_died_on_the_last_try_is_failed(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str], settings: HotlineSettings,
    session_factory: sessionmaker[Session], reviewer: FakeReviewer,
) -> None:
    once = JobSettings(lease_s=0.05, max_attempts=1, poll_interval_s=0.05)
    citizen = make_client(None)
    reference = _submit(citizen)
    with session_scope(session_factory) as session:
        submission = session.scalar(select(Submission).where(Submission.reference == reference))
        session.get(Job, submission.job_id).max_attempts = 1  # type: ignore[union-attr]
    worker = _worker(settings, session_factory, once, reviewer)
    assert worker.claim() is not None
    time.sleep(0.1)
    assert worker.run_once() is False
    submission, job = _state(session_factory, reference)
    assert (job.status, submission.status) == ("failed", "failed")
    assert submission.error is not None and submission.error.startswith("worker_lost")
    assert citizen.get(f"/api/v1/submissions/{reference}").json()["finished"] is True


def test_the_real_pipeline_with_a_scripted_ocr_engine(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str], settings: HotlineSettings,
    session_factory: sessionmaker[Session], job_settings: JobSettings,
) -> None:
    lines = [TextLine("居民身份证", (100.0, 100.0, 400.0, 140.0), 0.95), TextLine("姓名 张三", (100.0, 200.0, 300.0, 240.0), 0.9)]
    engine = FakeOcrEngine(lines)
    reviewer = PipelineReviewer(lambda: Pipeline.create(settings=PrereviewSettings(), ocr=engine))
    citizen = make_client(None)
    reference = _submit(citizen)
    assert _worker(settings, session_factory, job_settings, reviewer).run_once() is True
    assert engine.calls >= 1
    submission, job = _state(session_factory, reference)
    assert job.status == "done", job.error
    assert submission.report is not None and "ocr" in submission.report["timings_ms"]
    assert submission.status in ("pass", "needs_fix", "needs_review")
    summaries = submission.report["fields"]["pages"]
    assert [(p["file"], p["page"]) for p in submission.pages] == [(s["file"], s["page"]) for s in summaries]
    assert [p["width"] for p in submission.pages] == [s["image_size"][0] for s in summaries]
    body = citizen.get(f"/api/v1/submissions/{reference}").json()
    assert body["finished"] and body["progress"] is None
    assert all(f["message"] for f in body["findings"])
    assert citizen.get(body["pages"][0]["image_url"]).headers["content-type"] == "image/jpeg"


def test_masking_keeps_four_and_four() -> None:
    assert mask_id_number("110105194912310021") == "1101**********0021"
    assert mask_id_number("1234") == "****"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_phone("010-87654321") == "*******4321"
    assert mask_form({"name": "张三", "id_number": VALID_ID, "phone": "13812345678"}) == {
        "name": "张三", "id_number": "1101**********002X", "phone": "138****5678"
    }


def test_decisions_wait_for_the_report_and_need_an_existing_finding(
    make_client: Callable[[str | None], TestClient], seeded: dict[str, str], settings: HotlineSettings,
    session_factory: sessionmaker[Session], job_settings: JobSettings, reviewer: FakeReviewer,
) -> None:
    reference = _submit(make_client(None))
    clerk = make_client(seeded["clerk_a"])
    url = f"/api/v1/review/submissions/{reference}/findings/0"
    headers = {"x-csrftoken": clerk.cookies["csrftoken"]}
    early = clerk.post(url, json={"decision": "accepted"}, headers=headers)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_reviewable")
    assert _worker(settings, session_factory, job_settings, reviewer).run_once() is True
    missing = clerk.post(url.removesuffix("/0") + "/99", json={"decision": "accepted"}, headers=headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "finding_not_found")
    assert clerk.post(url, json={"decision": "maybe"}, headers=headers).status_code == 422
    assert clerk.post(url, json={"decision": "accepted"}, headers=headers).status_code == 200
