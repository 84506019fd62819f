"""Every hostile file ends in pages or a clear finding, in time, without an exception and without a memory spike."""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from prereview.intake import intake_file
from prereview.pages import IntakeResult
from prereview.settings import PrereviewSettings
from tests.prereview.hostile.generate import HostileCase, generate_corpus

SETTINGS = PrereviewSettings(
    max_file_mb=8,
    max_pages=5,
    max_pixels_per_page=20_000_000,
    max_pixels_per_file=40_000_000,
    max_image_side_px=12_000,
    pdf_max_objects=50_000,
    pdf_max_stream_mb=16,
    pdf_timeout_s=12,
    page_timeout_s=4,
    pdf_memory_mb=768,
)
CATEGORIES = [
    "valid",
    "truncated",
    "wrong_magic",
    "bomb",
    "pdf_bomb",
    "encrypted",
    "structure",
    "active",
    "polyglot",
    "odd_format",
]
INTAKE_CODES = {
    "unsupported_file",
    "file_too_large",
    "too_many_pages",
    "image_too_large",
    "encrypted_pdf",
    "broken_file",
    "processing_timeout",
    "unreadable_page",
}
# Spawning, killing and collecting a PDF worker on a busy 2-core machine.
PDF_SLACK_S = 4.0
IMAGE_LIMIT_S = 5.0
# Two files at a time, each at most 20 Mpx (60 MB as BGR, a few copies while decoding); a bomb
# that got through would need gigabytes.
PEAK_PARENT_GROWTH_MB = 250
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Outcome:
    case: HostileCase
    result: IntakeResult | None
    seconds: float
    error: str = ""


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[HostileCase]]:
    """The seeded corpus, written to a temporary folder (intake reads each file back from disk)."""
    folder = tmp_path_factory.mktemp("hostile")
    cases = generate_corpus(seed=12345)
    for case in cases:
        (folder / case.name).write_bytes(case.data)
    return folder, cases


def test_corpus_is_large_and_fully_categorised(corpus: tuple[Path, list[HostileCase]]) -> None:
    _, cases = corpus
    assert len(cases) >= 200
    assert {case.category for case in cases} == set(CATEGORIES)
    assert len({case.name for case in cases}) == len(cases)
    assert generate_corpus(seed=12345)[50].data == cases[50].data


@contextmanager
def peak_growth_mb() -> Iterator[list[float]]:
    """Growth of this process's peak RSS inside the block (Linux), or of traced allocations elsewhere."""
    measured: list[float] = []
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
    except OSError:
        tracemalloc.start()
        try:
            yield measured
            measured.append(tracemalloc.get_traced_memory()[1] / 1024 / 1024)
        finally:
            tracemalloc.stop()
        return
    yield measured
    measured.append((_status_kb("VmHWM") - before) / 1024)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} missing from /proc/self/status")


def _run(folder: Path, case: HostileCase) -> Outcome:
    data = (folder / case.name).read_bytes()
    started = time.perf_counter()
    try:
        result = intake_file(name=case.name, data=data, settings=SETTINGS)
    except BaseException as exc:  # the point of the test: nothing may escape
        return Outcome(case, None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    return Outcome(case, result, time.perf_counter() - started)


def _problems(outcome: Outcome) -> list[str]:
    case, result = outcome.case, outcome.result
    if result is None:
        return [f"raised {outcome.error}"]
    problems = []
    limit = SETTINGS.pdf_timeout_s + PDF_SLACK_S if result.media_type == "application/pdf" else IMAGE_LIMIT_S
    if outcome.seconds > limit:
        problems.append(f"took {outcome.seconds:.1f} s > {limit} s")
    codes = {finding.code.value for finding in result.findings}
    if not result.pages and not result.findings:
        problems.append("neither pages nor a finding")
    if case.pages is True and (not result.pages or (case.codes and not codes & case.codes)):
        problems.append(f"expected pages{' and one of ' + str(sorted(case.codes)) if case.codes else ''}")
    if case.pages is False and (result.pages or not codes & case.codes):
        problems.append(f"expected no pages and one of {sorted(case.codes)}")
    if case.pages is None and not result.pages and not codes & case.codes:
        problems.append(f"expected pages or one of {sorted(case.codes)}")
    for finding in result.findings:
        if finding.code.value not in INTAKE_CODES:
            problems.append(f"unexpected code {finding.code.value}")
        if finding.file != case.name or not _CJK.search(finding.message) or not finding.detail:
            problems.append(f"finding {finding.code.value} lacks file, Chinese message or detail")
    for page in result.pages:
        image = page.image
        if image is None or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            problems.append(f"page {page.number} is not a BGR uint8 image")
        elif image.shape[0] * image.shape[1] > SETTINGS.max_pixels_per_page:
            problems.append(f"page {page.number} is {image.shape} past max_pixels_per_page")
        if not 1 <= page.number <= SETTINGS.max_pages:
            problems.append(f"page number {page.number} outside 1..max_pages")
    return problems


@pytest.mark.timeout(240)
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_hostile_file_ends_in_pages_or_a_clear_finding(
    category: str, corpus: tuple[Path, list[HostileCase]]
) -> None:
    folder, cases = corpus
    chosen = [case for case in cases if case.category == category]
    with peak_growth_mb() as growth, ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda case: _run(folder, case), chosen))
    failures = [f"{o.case.name}: {'; '.join(p)}" for o in outcomes if (p := _problems(o))]
    print(f"{category}: {len(chosen)} files, parent peak RSS growth {growth[0]:.0f} MB")
    assert not failures, "\n".join(failures)
    assert growth[0] < PEAK_PARENT_GROWTH_MB, f"parent peak RSS grew {growth[0]:.0f} MB"
