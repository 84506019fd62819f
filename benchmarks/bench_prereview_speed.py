"""Pre-review speed: pipeline time per page against bare RapidOCR (default settings) on the same pages.

Also: text-layer PDF pages against the OCR path, 2 worker processes against 1, the OCR cache, and
peak memory. Field accuracy of both paths is measured on the same pages, so a speed-up that loses
accuracy shows. Ends with one JSON line.

    .venv/bin/python benchmarks/bench_prereview_speed.py --apps 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
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


_WORKER = None


def _init_worker() -> None:
    global _WORKER
    from prereview.pipeline import Pipeline
    from prereview.settings import PrereviewSettings

    _WORKER = Pipeline.create(settings=PrereviewSettings(ocr_threads=1, ocr_cache_entries=0))


def _worker_page(page: tuple[str, bytes]) -> float:
    assert _WORKER is not None
    started = time.perf_counter()
    _WORKER.inspect(files=[page], application_date=TODAY)
    return time.perf_counter() - started


def _throughput(pages: list[tuple[str, bytes, dict[str, str]]], workers: int) -> float:
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        list(pool.map(_worker_page, [(name, data) for name, data, _ in pages[:workers]]))  # warm up every worker
        started = time.perf_counter()
        list(pool.map(_worker_page, [(name, data) for name, data, _ in pages]))
        return len(pages) / (time.perf_counter() - started)


def main() -> None:
    from prereview.pipeline import Pipeline
    from prereview.settings import PrereviewSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=2, help="synthetic applications whose pages are timed")
    parser.add_argument("--skip-workers", action="store_true", help="skip the 1-vs-2 worker comparison")
    args = parser.parse_args()
    pages = _pages(args.apps)

    bare_times, bare_fields = _bare_rapidocr(pages)
    pipeline = Pipeline.create(settings=PrereviewSettings(ocr_cache_entries=0))
    ours_times, ours_fields = _pipeline_run(pipeline, pages)
    cached = Pipeline.create(settings=PrereviewSettings())
    _pipeline_run(cached, pages)
    cached_times, _ = _pipeline_run(cached, pages)

    form_lines = ["住房公积金提取申请表", "申请人姓名：张三", "身份证号码：110105199001020016", "提取原因：租赁住房",
                  "本人承诺所填写内容真实。", "申请人签名："]
    from prereview.corpus.pdf import text_pdf

    pdf = text_pdf(form_lines)
    image = np.full((1400, 1000, 3), 250, np.uint8)
    from PIL import Image, ImageDraw

    from prereview.corpus.render import font

    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(form_lines):
        draw.text((100, 100 + 60 * i), line, font=font(30), fill=(20, 20, 20))
    ok, jpeg = cv2.imencode(".jpg", np.asarray(canvas), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    pdf_analysis: list[float] = []
    jpeg_analysis: list[float] = []
    pdf_times = [_pipeline_run(pipeline, [("form.pdf", pdf, {})], after_intake=pdf_analysis)[0][0] for _ in range(5)]
    jpeg_times = [_pipeline_run(pipeline, [("form.jpg", jpeg.tobytes(), {})], after_intake=jpeg_analysis)[0][0]
                  for _ in range(3)]

    figures: dict[str, Any] = {
        "pages": len(pages),
        "bare_rapidocr_median_s": round(statistics.median(bare_times), 3),
        "pipeline_median_s": round(statistics.median(ours_times), 3),
        "pipeline_to_bare_ratio": round(sum(ours_times) / sum(bare_times), 3),
        "bare_field_accuracy": round(_accuracy(bare_fields, pages), 3),
        "pipeline_field_accuracy": round(_accuracy(ours_fields, pages), 3),
        "cached_median_s": round(statistics.median(cached_times), 4),
        "pdf_text_median_s": round(statistics.median(pdf_times), 4),
        "same_form_ocr_median_s": round(statistics.median(jpeg_times), 3),
        "pdf_text_speedup": round(statistics.median(jpeg_times) / statistics.median(pdf_times), 1),
        "pdf_text_after_intake_median_s": round(statistics.median(pdf_analysis), 4),
        "same_form_ocr_after_intake_median_s": round(statistics.median(jpeg_analysis), 3),
        "pdf_text_speedup_after_intake": round(statistics.median(jpeg_analysis) / statistics.median(pdf_analysis), 1),
    }
    if not args.skip_workers:
        one = _throughput(pages, 1)
        two = _throughput(pages, 2)
        figures.update({"pages_per_s_1_worker": round(one, 3), "pages_per_s_2_workers": round(two, 3),
                        "two_worker_speedup": round(two / one, 2)})
    figures["peak_rss_mb_main"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["peak_rss_mb_worker"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    print(f"{len(pages)} pages: bare RapidOCR median {figures['bare_rapidocr_median_s']} s/page, pipeline median "
          f"{figures['pipeline_median_s']} s/page, ratio {figures['pipeline_to_bare_ratio']} "
          f"(field accuracy bare {figures['bare_field_accuracy']}, pipeline {figures['pipeline_field_accuracy']})")
    print(f"cached pipeline median {figures['cached_median_s']} s/page")
    print(f"text-layer PDF {figures['pdf_text_median_s']} s vs OCR of the same form {figures['same_form_ocr_median_s']} s "
          f"-> {figures['pdf_text_speedup']}x end to end (intake's sandboxed PDF worker included); after intake "
          f"{figures['pdf_text_after_intake_median_s']} s vs {figures['same_form_ocr_after_intake_median_s']} s "
          f"-> {figures['pdf_text_speedup_after_intake']}x")
    if "two_worker_speedup" in figures:
        print(f"throughput 1 worker {figures['pages_per_s_1_worker']} pages/s, 2 workers "
              f"{figures['pages_per_s_2_workers']} pages/s -> {figures['two_worker_speedup']}x")
    print(f"peak RSS main {figures['peak_rss_mb_main']} MB, worker {figures['peak_rss_mb_worker']} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
