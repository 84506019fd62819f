"""Intake cost per page: images, scanned PDF pages and text-layer PDF pages, against bare in-process decoding.

Baselines in the same run: bare Pillow decode (open + load + numpy) for images, bare in-process
pypdfium2 rendering (no sandbox, no checks) for PDFs, and a 1-page PDF with the PDF worker pool
stopped first (cold start). Measures are interleaved per repeat. Prints medians and ratios, then one
JSON line.
Run: .venv/bin/python benchmarks/bench_prereview_intake.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prereview.intake import intake_file, stop_pdf_pool  # noqa: E402
from prereview.settings import PrereviewSettings  # noqa: E402
from tests.prereview.hostile.generate import document_image, encode, pdf_from_objects, pdf_stream  # noqa: E402

SHARED_IMAGES = REPO.parent / "shared" / "data" / "zh_document_images" / "images"
PAGES = 10


def multi_page_pdf(page_objects: list[list[bytes]]) -> bytes:
    """Join single-page object lists (catalog, pages, page, resources...) into one PDF."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for page in page_objects:
        base = len(objects) + 1
        page_dict, *rest = page
        kids.append(b"%d 0 R" % base)
        objects.append(page_dict.replace(b"@", b"%d" % (base + 1)).replace(b"#", b"%d" % (base + 2)))
        objects.extend(rest)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return pdf_from_objects(objects)


def text_pages(count: int) -> bytes:
    """``count`` A4 pages of 40 lines of Helvetica text each."""
    pages = []
    for number in range(count):
        ops = [b"BT /F1 11 Tf 14 TL 60 780 Td"]
        ops += [b"(Line %d of page %d: applicant name, address, licence number 9144%07d) Tj T*" % (i, number, i) for i in range(40)]
        ops.append(b"ET")
        pages.append(
            [
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 # 0 R >> >> /Contents @ 0 R >>",
                pdf_stream(b"\n".join(ops)),
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            ]
        )
    return multi_page_pdf(pages)


def scanned_pages(jpegs: list[bytes], size: tuple[int, int]) -> bytes:
    """One full-page scanned JPEG per A4 page."""
    pages = []
    for jpeg in jpegs:
        pages.append(
            [
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 # 0 R >> >> /Contents @ 0 R >>",
                pdf_stream(b"q 595 0 0 842 0 0 cm /Im1 Do Q"),
                pdf_stream(
                    jpeg,
                    b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode " % size,
                ),
            ]
        )
    return multi_page_pdf(pages)


def interleaved_medians_ms(measures: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each measure; every repeat runs all measures once, so load drift hits all alike."""
    times: dict[str, list[float]] = {key: [] for key in measures}
    for _ in range(repeats):
        for key, function in measures.items():
            started = time.perf_counter()
            function()
            times[key].append((time.perf_counter() - started) * 1000)
    return {key: statistics.median(values) for key, values in times.items()}


def bare_pillow(images: list[bytes]) -> None:
    for data in images:
        with Image.open(io.BytesIO(data)) as image:
            np.asarray(image.convert("RGB"))


def bare_pdfium(pdf: bytes, dpi: int) -> None:
    document = pdfium.PdfDocument(pdf)
    for page in document:
        page.render(scale=dpi / 72).to_numpy()
    document.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = PrereviewSettings()
    rng = random.Random(7)
    a4 = (1654, 2339)  # A4 at 200 dpi, a typical phone scan or scanner output
    scans = [encode(document_image(rng, *a4), "JPEG", quality=85) for _ in range(PAGES)]
    text_pdf = text_pages(PAGES)
    scan_pdf = scanned_pages(scans, a4)
    one_text_pdf = text_pages(1)
    shared = sorted(SHARED_IMAGES.glob("*")) if SHARED_IMAGES.is_dir() else []
    real_images = [path.read_bytes() for path in shared]

    def intake_all(files: list[bytes]) -> None:
        for index, data in enumerate(files):
            result = intake_file(name=f"f{index}", data=data, settings=settings)
            assert result.pages and not result.findings, result.findings

    def cold_one_page() -> None:
        stop_pdf_pool()
        intake_all([one_text_pdf])

    measures: dict[str, tuple[Callable[[], object], int]] = {
        "image_bare_pillow_ms_per_page": (lambda: bare_pillow(scans), PAGES),
        "image_intake_ms_per_page": (lambda: intake_all(scans), PAGES),
        "scan_pdf_bare_pdfium_ms_per_page": (lambda: bare_pdfium(scan_pdf, settings.render_dpi), PAGES),
        "scan_pdf_intake_ms_per_page": (lambda: intake_all([scan_pdf]), PAGES),
        "text_pdf_bare_pdfium_ms_per_page": (lambda: bare_pdfium(text_pdf, settings.render_dpi), PAGES),
        "text_pdf_intake_ms_per_page": (lambda: intake_all([text_pdf]), PAGES),
        "text_pdf_1_page_intake_ms": (lambda: intake_all([one_text_pdf]), 1),
        "text_pdf_1_page_intake_cold_ms": (cold_one_page, 1),
    }
    if real_images:
        measures["real_image_bare_pillow_ms_per_page"] = (lambda: bare_pillow(real_images), len(real_images))
        measures["real_image_intake_ms_per_page"] = (lambda: intake_all(real_images), len(real_images))
    intake_all([one_text_pdf])  # start the PDF worker pool, as a running service has one
    medians = interleaved_medians_ms({key: function for key, (function, _) in measures.items()}, args.repeats)
    rows = {key: medians[key] / pages for key, (_, pages) in measures.items()}

    ratios = {
        "image_intake_vs_bare_pillow": rows["image_intake_ms_per_page"] / rows["image_bare_pillow_ms_per_page"],
        "scan_pdf_intake_vs_bare_pdfium": rows["scan_pdf_intake_ms_per_page"] / rows["scan_pdf_bare_pdfium_ms_per_page"],
        "text_pdf_intake_vs_bare_pdfium": rows["text_pdf_intake_ms_per_page"] / rows["text_pdf_bare_pdfium_ms_per_page"],
        "text_pdf_page_vs_image_page": rows["text_pdf_intake_ms_per_page"] / rows["image_intake_ms_per_page"],
        "text_pdf_1_page_warm_vs_cold": rows["text_pdf_1_page_intake_ms"] / rows["text_pdf_1_page_intake_cold_ms"],
    }
    if real_images:
        ratios["real_image_intake_vs_bare_pillow"] = rows["real_image_intake_ms_per_page"] / rows["real_image_bare_pillow_ms_per_page"]
    print(f"{'measure':44s} {'median ms':>10s}")
    for key, value in rows.items():
        print(f"{key:44s} {value:10.1f}")
    for key, value in ratios.items():
        print(f"{key:44s} {value:9.2f}x")
    print(json.dumps({"bench": "prereview_intake", "pages": PAGES, "repeats": args.repeats, "real_images": len(real_images),
                      **{k: round(v, 2) for k, v in rows.items()}, **{k: round(v, 3) for k, v in ratios.items()}}))


if __name__ == "__main__":
    main()
