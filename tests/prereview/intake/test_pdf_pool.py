"""The pool of PDF worker processes: warm start, replacement of killed, hung and spent workers, thread safety."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from prereview.intake import intake_file, pdf_pool, stop_pdf_pool, warm_pdf_pool
from prereview.intake.pdf import _pool
from prereview.intake.pdf_pool import PdfWorker
from prereview.pages import IntakeResult
from prereview.report import FindingCode
from prereview.settings import PrereviewSettings
from tests.prereview.hostile.generate import pdf_from_objects, pdf_stream, text_pdf

LINES = ["Application for business licence", "Applicant: Zhang San 2024"]


@pytest.fixture
def pooled(settings: PrereviewSettings) -> Iterator[PrereviewSettings]:
    """Settings with one warm worker, and an empty pool before and after the test."""
    stop_pdf_pool()
    yield settings.model_copy(update={"pdf_pool_workers": 1})
    stop_pdf_pool()


def _slow_pdf() -> bytes:
    """One page of 300,000 path operations: seconds to render."""
    ops = b"".join(b"%d %d m %d %d l " % (i % 595, i * 7 % 842, i * 13 % 595, i * 3 % 842) for i in range(300_000))
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(ops + b"S"),
        ]
    )


def _assert_reads(result: IntakeResult, lines: list[str] = LINES) -> None:
    assert result.findings == []
    (page,) = result.pages
    assert [line.text for line in page.text_lines] == lines


def _idle_pid() -> int:
    (worker,) = _pool.idle_workers()
    return worker.pid


def _busy_worker(timeout_s: float = 10.0) -> PdfWorker:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = _pool.busy_workers()
        if busy:
            return busy[0]
        time.sleep(0.01)
    raise AssertionError("no worker became busy")


def test_warm_pool_is_ready_before_the_first_file(pooled: PrereviewSettings) -> None:
    assert warm_pdf_pool(settings=pooled.model_copy(update={"pdf_pool_workers": 2}), wait_s=20) == 2
    warm = {worker.pid for worker in _pool.idle_workers()}
    _assert_reads(intake_file(name="a.pdf", data=text_pdf(LINES), settings=pooled))
    (kept,) = _pool.idle_workers()
    assert kept.pid in warm  # the pool of one keeps one of the warm workers and closes the other
    assert warm_pdf_pool(settings=pooled, wait_s=20) == 1


def test_a_worker_is_reused_for_the_next_file(pooled: PrereviewSettings) -> None:
    _assert_reads(intake_file(name="a.pdf", data=text_pdf(LINES), settings=pooled))
    first = _idle_pid()
    _assert_reads(intake_file(name="b.pdf", data=text_pdf(["second file 2"]), settings=pooled), ["second file 2"])
    assert _idle_pid() == first


def test_a_killed_idle_worker_is_replaced(pooled: PrereviewSettings) -> None:
    warm_pdf_pool(settings=pooled, wait_s=20)
    (worker,) = _pool.idle_workers()
    worker.process.kill()
    worker.process.wait()
    _assert_reads(intake_file(name="after.pdf", data=text_pdf(LINES), settings=pooled))
    assert _idle_pid() != worker.pid


def test_a_worker_killed_mid_document_gives_a_finding_and_is_replaced(pooled: PrereviewSettings) -> None:
    warm_pdf_pool(settings=pooled, wait_s=20)
    results: list[IntakeResult] = []
    thread = threading.Thread(target=lambda: results.append(intake_file(name="slow.pdf", data=_slow_pdf(), settings=pooled)))
    thread.start()
    worker = _busy_worker()
    time.sleep(0.3)  # let it get into the page
    worker.process.kill()
    thread.join(30)
    ((finding,),) = [result.findings for result in results]
    assert finding.code is FindingCode.processing_timeout and "stopped" in finding.detail
    assert not worker.alive()
    _assert_reads(intake_file(name="next.pdf", data=text_pdf(LINES), settings=pooled))
    assert _idle_pid() != worker.pid


def test_a_hung_worker_is_killed_at_the_file_limit_and_replaced(pooled: PrereviewSettings) -> None:
    warm_pdf_pool(settings=pooled, wait_s=20)
    hung = _idle_pid()
    limits = pooled.model_copy(update={"pdf_timeout_s": 1.0, "page_timeout_s": 60})
    started = time.monotonic()
    result = intake_file(name="hang.pdf", data=_slow_pdf(), settings=limits)
    assert time.monotonic() - started < 5
    assert [f.code for f in result.findings] == [FindingCode.processing_timeout]
    _assert_reads(intake_file(name="next.pdf", data=text_pdf(LINES), settings=limits))
    assert _idle_pid() != hung


def test_a_page_timeout_ends_the_worker_and_the_next_file_gets_a_fresh_one(pooled: PrereviewSettings) -> None:
    warm_pdf_pool(settings=pooled, wait_s=20)
    first = _idle_pid()
    limits = pooled.model_copy(update={"page_timeout_s": 0.3})
    result = intake_file(name="slow.pdf", data=_slow_pdf(), settings=limits)
    assert [(f.code, f.page) for f in result.findings] == [(FindingCode.processing_timeout, 1)]
    _assert_reads(intake_file(name="next.pdf", data=text_pdf(LINES), settings=limits))
    assert _idle_pid() != first


def test_a_worker_out_of_memory_is_replaced(pooled: PrereviewSettings) -> None:
    tight = pooled.model_copy(update={"pdf_memory_mb": 256, "preview_dpi": 300, "max_pixels_per_page": 100_000_000})
    result = intake_file(name="poster.pdf", data=text_pdf(LINES, media_box=b"[0 0 2384 3370]"), settings=tight)
    assert result.pages == [] and "memory" in result.findings[0].detail
    replacement = _idle_pid()
    _assert_reads(intake_file(name="small.pdf", data=text_pdf(LINES), settings=tight))
    assert _idle_pid() == replacement


def test_workers_are_recycled_after_pdf_worker_max_files(pooled: PrereviewSettings) -> None:
    recycled = pooled.model_copy(update={"pdf_worker_max_files": 2})
    pids = []
    for index in range(5):
        _assert_reads(intake_file(name=f"{index}.pdf", data=text_pdf(LINES), settings=recycled))
        pids.append(_idle_pid())
    assert pids[0] != pids[1] == pids[2] != pids[3] == pids[4]


def test_pool_of_zero_uses_a_fresh_worker_per_file(pooled: PrereviewSettings) -> None:
    fresh = pooled.model_copy(update={"pdf_pool_workers": 0})
    assert warm_pdf_pool(settings=fresh, wait_s=5) == 0
    _assert_reads(intake_file(name="a.pdf", data=text_pdf(LINES), settings=fresh))
    assert _pool.idle_workers() == [] and _pool.busy_workers() == []


def test_workers_with_other_limits_are_not_reused(pooled: PrereviewSettings) -> None:
    _assert_reads(intake_file(name="a.pdf", data=text_pdf(LINES), settings=pooled))
    (first,) = _pool.idle_workers()
    other = pooled.model_copy(update={"pdf_memory_mb": pooled.pdf_memory_mb + 256})
    _assert_reads(intake_file(name="b.pdf", data=text_pdf(LINES), settings=other))
    (second,) = _pool.idle_workers()
    assert second.limits.memory_mb == other.pdf_memory_mb and not first.alive()


def test_concurrent_callers_each_get_their_own_file_back(pooled: PrereviewSettings) -> None:
    files = [(f"{index}.pdf", [f"Applicant number {index}", f"file {index} of 12"]) for index in range(12)]

    def run(item: tuple[str, list[str]]) -> tuple[list[str], IntakeResult]:
        name, lines = item
        return lines, intake_file(name=name, data=text_pdf(lines), settings=pooled)

    with ThreadPoolExecutor(max_workers=4) as threads:
        outcomes = list(threads.map(run, files))
    for lines, result in outcomes:
        _assert_reads(result, lines)
    assert len(_pool.idle_workers()) == 1 and _pool.busy_workers() == []


def test_a_forked_child_does_not_use_the_parent_workers(pooled: PrereviewSettings) -> None:
    warm_pdf_pool(settings=pooled, wait_s=20)
    child = os.fork()
    if child == 0:
        os._exit(0 if _pool.idle_workers() == [] else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    (worker,) = _pool.idle_workers()
    assert worker.alive()


def test_a_spare_that_cannot_start_does_not_fail_the_file(
    pooled: PrereviewSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm_pdf_pool(settings=pooled, wait_s=20)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(pdf_pool.subprocess, "Popen", refuse)
    once = pooled.model_copy(update={"pdf_worker_max_files": 1})
    _assert_reads(intake_file(name="a.pdf", data=text_pdf(LINES), settings=once))
    assert _pool.idle_workers() == [] and _pool.busy_workers() == []
