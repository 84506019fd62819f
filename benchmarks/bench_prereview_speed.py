"""Pre-review speed: pipeline time per page against bare RapidOCR (default settings) on the same pages.

Also: text-layer PDF pages against the OCR path (with the PDF worker pool warm, and the first PDF
with it cold), 2 worker processes against 1, the OCR cache, and peak memory. Field accuracy of both
paths is measured on the same pages, so a speed-up that loses accuracy shows. The JSON line carries
the CPU count and load average, so a reader can judge how busy the machine was. Ends with one JSON
line; about 2 minutes on two idle cores with the defaults.

    .venv/bin/python benchmarks/bench_prereview_speed.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

TODAY = dt.date(2026, 11, 24)


def _pages(apps: int) -> list[tuple[str, bytes, dict[str, str]]]:
    from prereview.corpus import SERVICES, generate_application

    pages = []
    for index in range(apps):
        files, _, _, truth = generate_application(SERVICES[index % len(SERVICES)], 900 + index)
        pages += [(f"{index}_{name}", data, truth["expected_fields"][name]) for name, data in files]
    return pages


def _accuracy(found: list[dict[str, Any]], pages: list[tuple[str, bytes, dict[str, str]]]) -> float:
    total = right = 0
    for fields, (_, _, expected) in zip(found, pages, strict=True):
        for key, value in expected.items():
            total += 1
            right += "".join(str(fields.get(key, "")).split()) == "".join(value.split())
    return right / total


def _bare_rapidocr(pages: list[tuple[str, bytes, dict[str, str]]]) -> tuple[list[float], list[dict[str, Any]]]:
    from rapidocr import RapidOCR

    from prereview.classify import classify_page
    from prereview.extract import extract_fields
    from prereview.ocr.engines import reading_order
    from prereview.pages import TextLine

    engine = RapidOCR(params={"Global.log_level": "error"})
    times, fields = [], []
    for _, data, _ in pages:
        started = time.perf_counter()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        result = engine(image)
        times.append(time.perf_counter() - started)
        lines = [TextLine(str(text), (float(np.min(box[:, 0])), float(np.min(box[:, 1])), float(np.max(box[:, 0])),
                                      float(np.max(box[:, 1]))), float(score))
                 for box, text, score in zip(result.boxes if result.boxes is not None else [], result.txts or (),
                                             result.scores or (), strict=False)]
        lines = reading_order(lines)
        kind = classify_page(lines, (image.shape[1], image.shape[0])).document_type
        fields.append(extract_fields(kind, lines))
    return times, fields


def _pipeline_run(pipeline: Any, pages: list[tuple[str, bytes, dict[str, str]]], *,
                  after_intake: list[float] | None = None) -> tuple[list[float], list[dict[str, Any]]]:
    times, fields = [], []
    for name, data, _ in pages:
        started = time.perf_counter()
        report = pipeline.inspect(files=[(name, data)], application_date=TODAY)
        times.append(time.perf_counter() - started)
        if after_intake is not None:
            after_intake.append((report.timings_ms["total"] - report.timings_ms["intake"]) / 1000)
        fields.append(report.fields["pages"][0]["fields"] if report.fields["pages"] else {})
    return times, fields


_WORKER: Any = None
_BARRIER: Any = None


def _init_worker(barrier: Any, warmup_page: tuple[str, bytes]) -> None:
    """Load the pipeline once (RapidOCR with 1 onnxruntime thread, OpenCV on 1 thread) and run it once."""
    global _WORKER, _BARRIER
    from prereview.pipeline import Pipeline
    from prereview.settings import PrereviewSettings

    cv2.setNumThreads(1)
    _WORKER = Pipeline.create(settings=PrereviewSettings(ocr_threads=1, ocr_cache_entries=0))
    _WORKER.inspect(files=[warmup_page], application_date=TODAY)
    _BARRIER = barrier


def _rendezvous() -> tuple[int, float | None]:
    """(pid, peak RSS in MB) once every worker process of the pool is here: one answer from each process."""
    _BARRIER.wait(timeout=600)
    return os.getpid(), _peak_rss_mb(os.getpid())


def _worker_page(page: tuple[str, bytes]) -> float:
    """CPU seconds the worker process (all its threads) spent on one page."""
    assert _WORKER is not None
    started = time.process_time()
    _WORKER.inspect(files=[page], application_date=TODAY)
    return time.process_time() - started


def _each_worker(pool: ProcessPoolExecutor, workers: int) -> list[tuple[int, float | None]]:
    """(pid, peak RSS in MB) of every worker process of the pool, waiting until all have loaded their pipelines."""
    answers = [future.result() for future in [pool.submit(_rendezvous) for _ in range(workers)]]
    assert len({pid for pid, _ in answers}) == workers, answers
    return answers


def _start_workers(workers: int, warmup_page: tuple[str, bytes]) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each with its pipeline loaded and warmed before this returns."""
    context = multiprocessing.get_context("spawn")  # no onnxruntime threads inherited through fork
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                               initargs=(context.Barrier(workers), warmup_page))
    _each_worker(pool, workers)
    return pool


def _timed_pass(pool: ProcessPoolExecutor, pages: list[tuple[str, bytes]]) -> tuple[float, float, float]:
    """(pages per second, CPU seconds per page, CPUs the workers got on average) for one pass, one page per task."""
    started = time.perf_counter()
    cpu = sum(pool.map(_worker_page, pages, chunksize=1))
    wall = time.perf_counter() - started
    return len(pages) / wall, cpu / len(pages), cpu / wall


def _busy_loop(seconds: float) -> float:
    """CPU seconds obtained by a pure-Python busy loop running for ``seconds`` of wall-clock time."""
    started = time.process_time()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return time.process_time() - started


def _machine_ceiling(seconds: float = 3.0) -> float:
    """How much more CPU 2 busy-loop processes get than 1 right now: the best 2-worker speed-up the machine allows."""
    context = multiprocessing.get_context("spawn")
    obtained = []
    for workers in (1, 2):
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            list(pool.map(_busy_loop, [0.0] * workers))  # start the processes before timing
            obtained.append(sum(pool.map(_busy_loop, [seconds] * workers)))
    return obtained[1] / obtained[0]


def _throughput(pages: list[tuple[str, bytes, dict[str, str]]], repeats: int) -> dict[str, Any]:
    """1 worker against 2 on the same pages, passes interleaved (1, 2, 1, 2, ...) so load drift hits both."""
    # Largest pages first: the last tasks are short, so two workers finish close together.
    ordered = [(name, data) for name, data, _ in sorted(pages, key=lambda page: -len(page[1]))]
    os.environ["OMP_NUM_THREADS"] = "1"  # read by the spawned workers' numeric libraries
    one_pool = _start_workers(1, ordered[-1])
    two_pool = _start_workers(2, ordered[-1])
    one, two = [], []
    try:
        ceiling = _machine_ceiling()
        for _ in range(repeats):
            one.append(_timed_pass(one_pool, ordered))
            two.append(_timed_pass(two_pool, ordered))
        rss = [value for pool, workers in ((one_pool, 1), (two_pool, 2)) for _, value in _each_worker(pool, workers)]
    finally:
        one_pool.shutdown()
        two_pool.shutdown()
    return {
        "throughput_pages": len(ordered),
        "throughput_repeats": repeats,
        "pages_per_s_1_worker": round(statistics.median(a[0] for a in one), 3),
        "pages_per_s_2_workers": round(statistics.median(b[0] for b in two), 3),
        "two_worker_speedup": round(statistics.median(b[0] for b in two) / statistics.median(a[0] for a in one), 2),
        "two_worker_speedup_per_pass": [round(b[0] / a[0], 2) for a, b in zip(one, two, strict=True)],
        "two_busy_loops_cpu_ratio": round(ceiling, 2),
        # Equal CPU per page with 1 and 2 workers means no contention in our code; CPUs obtained shows
        # how much of the machine the other load left to the workers (2 workers cannot beat that ratio).
        "cpu_s_per_page_1_worker": round(statistics.median(a[1] for a in one), 3),
        "cpu_s_per_page_2_workers": round(statistics.median(b[1] for b in two), 3),
        "cpus_obtained_1_worker": round(statistics.median(a[2] for a in one), 2),
        "cpus_obtained_2_workers": round(statistics.median(b[2] for b in two), 2),
        "peak_rss_mb_ocr_worker": max((value for value in rss if value is not None), default=None),
    }


def _form_files() -> tuple[bytes, bytes]:
    """The same application form as a text-layer PDF and as a photographed-quality JPEG."""
    from PIL import Image, ImageDraw

    from prereview.corpus.pdf import text_pdf
    from prereview.corpus.render import font

    form_lines = ["住房公积金提取申请表", "申请人姓名：张三", "身份证号码：110105199001020016", "提取原因：租赁住房",
                  "本人承诺所填写内容真实。", "申请人签名："]
    canvas = Image.fromarray(np.full((1400, 1000, 3), 250, np.uint8))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(form_lines):
        draw.text((100, 100 + 60 * i), line, font=font(30), fill=(20, 20, 20))
    ok, jpeg = cv2.imencode(".jpg", np.asarray(canvas), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return text_pdf(form_lines), jpeg.tobytes()


def _pdf_against_ocr(pipeline: Any, settings: Any, repeats: int) -> dict[str, Any]:
    """The text-layer PDF form end to end, first with the PDF worker pool cold, then warm; the JPEG form via OCR."""
    from prereview.intake import stop_pdf_pool, warm_pdf_pool
    from prereview.intake.pdf import _pool

    pdf, jpeg = _form_files()
    stop_pdf_pool()
    cold = _pipeline_run(pipeline, [("form.pdf", pdf, {})])[0][0]
    stop_pdf_pool()
    ready = warm_pdf_pool(settings=settings, wait_s=60)
    pdf_analysis: list[float] = []
    jpeg_analysis: list[float] = []
    pdf_times = [_pipeline_run(pipeline, [("form.pdf", pdf, {})], after_intake=pdf_analysis)[0][0]
                 for _ in range(repeats)]
    jpeg_times = [_pipeline_run(pipeline, [("form.jpg", jpeg, {})], after_intake=jpeg_analysis)[0][0]
                  for _ in range(max(3, repeats // 3))]
    rss = [_peak_rss_mb(worker.pid) for worker in _pool.idle_workers()]
    return {
        "pdf_pool_workers_ready_before_timing": ready,
        "pdf_pool_warm": ready > 0,
        "pdf_text_repeats": repeats,
        "pdf_text_median_s": round(statistics.median(pdf_times), 4),
        "pdf_text_cold_pool_first_s": round(cold, 4),
        "same_form_ocr_median_s": round(statistics.median(jpeg_times), 3),
        "pdf_text_speedup": round(statistics.median(jpeg_times) / statistics.median(pdf_times), 1),
        "pdf_text_speedup_cold_pool": round(statistics.median(jpeg_times) / cold, 1),
        "pdf_text_after_intake_median_s": round(statistics.median(pdf_analysis), 4),
        "same_form_ocr_after_intake_median_s": round(statistics.median(jpeg_analysis), 3),
        "pdf_text_speedup_after_intake": round(statistics.median(jpeg_analysis) / statistics.median(pdf_analysis), 1),
        "peak_rss_mb_pdf_worker": max((value for value in rss if value is not None), default=None),
    }


def _peak_rss_mb(pid: int) -> float | None:
    """A live process's peak RSS (Linux), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((round(int(line.split()[1]) / 1024, 1) for line in status.splitlines() if line.startswith("VmHWM:")),
                None)


def main() -> None:
    from prereview.pipeline import Pipeline
    from prereview.settings import PrereviewSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=4, help="synthetic applications whose pages are timed (4: 17 pages)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved passes of 1 and 2 workers (medians)")
    parser.add_argument("--pdf-repeats", type=int, default=15, help="timed runs of the text-layer PDF form")
    parser.add_argument("--skip-workers", action="store_true", help="skip the 1-vs-2 worker comparison")
    args = parser.parse_args()
    if args.apps < 1 or args.repeats < 1 or args.pdf_repeats < 1:
        parser.error("--apps, --repeats and --pdf-repeats must be at least 1")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    pages = _pages(args.apps)

    bare_times, bare_fields = _bare_rapidocr(pages)
    settings = PrereviewSettings(ocr_cache_entries=0)
    pipeline = Pipeline.create(settings=settings)
    ours_times, ours_fields = _pipeline_run(pipeline, pages)
    cached = Pipeline.create(settings=PrereviewSettings())
    _pipeline_run(cached, pages)
    cached_times, _ = _pipeline_run(cached, pages)

    figures: dict[str, Any] = {
        "pages": len(pages),
        "bare_rapidocr_median_s": round(statistics.median(bare_times), 3),
        "pipeline_median_s": round(statistics.median(ours_times), 3),
        "pipeline_to_bare_ratio": round(sum(ours_times) / sum(bare_times), 3),
        "bare_field_accuracy": round(_accuracy(bare_fields, pages), 3),
        "pipeline_field_accuracy": round(_accuracy(ours_fields, pages), 3),
        "cached_median_s": round(statistics.median(cached_times), 4),
    }
    figures.update(_pdf_against_ocr(pipeline, settings, args.pdf_repeats))
    if not args.skip_workers:
        if len(pages) < 16:
            print(f"note: {len(pages)} pages in the 1-vs-2 worker passes; use --apps 4 or more for at least 16")
        figures.update(_throughput(pages, args.repeats))
    # The main process holds bare RapidOCR and two pipelines; /proc's VmHWM, unlike getrusage, is not
    # inflated in spawned children by the parent's size at fork.
    figures["peak_rss_mb_main"] = _peak_rss_mb(os.getpid())
    figures["cpu_count"] = os.cpu_count()
    figures["cpus_usable"] = len(os.sched_getaffinity(0))
    figures["load_avg_1min_start"] = round(load_before, 2)
    figures["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    # With autogroup, Linux shares CPU between sessions first: on a busy machine a second worker in this
    # session gets no more CPU, whatever the code does.
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    figures["sched_autogroup"] = autogroup.read_text().strip() == "1" if autogroup.exists() else None
    figures["seconds"] = round(time.perf_counter() - started, 1)

    print(f"{len(pages)} pages: bare RapidOCR median {figures['bare_rapidocr_median_s']} s/page, pipeline median "
          f"{figures['pipeline_median_s']} s/page, ratio {figures['pipeline_to_bare_ratio']} "
          f"(field accuracy bare {figures['bare_field_accuracy']}, pipeline {figures['pipeline_field_accuracy']})")
    print(f"cached pipeline median {figures['cached_median_s']} s/page")
    print(f"text-layer PDF {figures['pdf_text_median_s']} s (PDF worker pool warm: {figures['pdf_pool_warm']}, "
          f"{figures['pdf_pool_workers_ready_before_timing']} ready) vs OCR of the same form "
          f"{figures['same_form_ocr_median_s']} s -> {figures['pdf_text_speedup']}x end to end; first PDF with the "
          f"pool cold {figures['pdf_text_cold_pool_first_s']} s -> {figures['pdf_text_speedup_cold_pool']}x; after "
          f"intake {figures['pdf_text_after_intake_median_s']} s vs {figures['same_form_ocr_after_intake_median_s']} s")
    if "two_worker_speedup" in figures:
        print(f"throughput over {figures['throughput_pages']} pages, median of {figures['throughput_repeats']} "
              f"interleaved passes: 1 worker {figures['pages_per_s_1_worker']} pages/s, 2 workers "
              f"{figures['pages_per_s_2_workers']} pages/s -> {figures['two_worker_speedup']}x "
              f"(per pass {figures['two_worker_speedup_per_pass']}); CPU per page {figures['cpu_s_per_page_1_worker']} "
              f"vs {figures['cpu_s_per_page_2_workers']} s, CPUs obtained {figures['cpus_obtained_1_worker']} vs "
              f"{figures['cpus_obtained_2_workers']}; 2 busy loops got {figures['two_busy_loops_cpu_ratio']}x the CPU of 1")
    print(f"peak RSS main {figures['peak_rss_mb_main']} MB, OCR worker {figures.get('peak_rss_mb_ocr_worker')} MB, "
          f"PDF worker {figures['peak_rss_mb_pdf_worker']} MB; {figures['cpus_usable']} of {figures['cpu_count']} "
          f"CPUs, 1-min load {figures['load_avg_1min_start']} at start, {figures['load_avg_1min_end']} at end; "
          f"{figures['seconds']} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
