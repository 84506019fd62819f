"""The PDF worker: runs as ``python -I .../pdf_worker.py MEMORY_MB MAX_FILE_BYTES`` under resource limits.

Untrusted PDFs are parsed here, never in the calling process. The worker is long-lived: it imports
its libraries, caps its address space and written file size, answers ``ready`` and then reads one
folder path per line on stdin. For each folder it reads ``input.pdf`` and ``config.json``, appends
one JSON event per line to ``manifest.jsonl`` (page images go to ``page-NNNN.npy``, BGR uint8,
written before the event that names them) and answers ``done`` (or ``done exit`` when it ran out
of memory and ends itself) on its original stdout, which nothing else writes to. No pickle crosses
the process boundary. The caller enforces the wall-clock limit and kills the worker; this process
enforces its CPU limit per document and a per-page watchdog that ends it. It runs in isolated mode
(-I) and imports nothing from this project, only numpy, pypdf and pypdfium2, so it starts fast.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import resource
import sys
import threading
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf.generic import IndirectObject, StreamObject

EXIT_PAGE_TIMEOUT = 3
MANIFEST = "manifest.jsonl"
# PDF 1.7 (ISO 32000-1, annex C) caps page sides at 14 400 user units (200 inches).
MAX_PAGE_SIDE_PT = 14_400.0
# A page is "scanned" when its images cover at least this share of it.
SCANNED_COVERAGE = 0.6
# One image this large and alone on the page is taken at its native resolution instead of rendered.
FULL_PAGE_COVERAGE = 0.9
# Pages with more objects than this are classified from the first ones only.
MAX_OBJECTS_INSPECTED = 20_000
# Text beyond this many characters on one page is not read (a dense A4 page holds about 6 000).
MAX_CHARS_PER_PAGE = 50_000
# A text layer is usable when at least this many characters are letters, digits or CJK ideographs...
MIN_GOOD_CHARS = 4
# ...and they make up at least this share of the non-space characters (the rest is U+FFFD, private use, controls).
MIN_GOOD_SHARE = 0.6
PASSWORD_ERRORS = {pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY}


class Manifest:
    """Appends events to manifest.jsonl, one flushed line each, safe to call from the watchdog thread."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def event(self, kind: str, **fields: Any) -> None:
        """Write one event line and flush it, so a killed worker still leaves complete lines."""
        with self._lock:
            self._file.write(json.dumps({"event": kind, **fields}, ensure_ascii=False) + "\n")
            self._file.flush()

    def finding(self, code: str, detail: str, page: int | None = None) -> None:
        """A problem the caller turns into a Finding (codes are listed in prereview.intake.pdf)."""
        self.event("finding", code=code, detail=detail[:500], page=page)

    def close(self) -> None:
        """Close the file (the caller reads it once the document is done)."""
        with self._lock:
            self._file.close()

    def exit_on_timeout(self, page: int, limit_s: float) -> None:
        """Record the page that ran out of time and end the process at once (PDFium cannot be interrupted)."""
        with self._lock:
            self._file.write(json.dumps({"event": "page_timeout", "page": page, "limit_s": limit_s}) + "\n")
            self._file.flush()
            os._exit(EXIT_PAGE_TIMEOUT)


class Watchdog(threading.Thread):
    """Ends the worker when one page of the current document takes longer than its page_timeout_s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._watched: tuple[Manifest, float, int, float] | None = None  # manifest, limit, page, started

    def start_page(self, manifest: Manifest, limit_s: float, number: int) -> None:
        self._watched = (manifest, limit_s, number, time.monotonic())

    def end_page(self) -> None:
        self._watched = None

    def run(self) -> None:
        while True:
            time.sleep(0.05)
            watched = self._watched
            if watched is not None and time.monotonic() - watched[3] > watched[1]:
                watched[0].exit_on_timeout(watched[2], watched[1])


def limit_process(memory_mb: int, max_file_bytes: int) -> None:
    """Cap address space, written file size and core dumps for the worker's whole life."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))


def limit_cpu(timeout_s: float) -> None:
    """Allow this document pdf_timeout_s + 2 s of CPU on top of what the worker has used so far (SIGXCPU past it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(math.ceil(usage.ru_utime + usage.ru_stime))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + int(math.ceil(timeout_s)) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def inflated_size_exceeds(raw: bytes, limit: int) -> bool:
    """Whether a FlateDecode stream inflates past ``limit`` bytes, found without holding its output."""
    inflater = zlib.decompressobj()
    produced = 0
    chunk = raw
    try:
        while chunk:
            produced += len(inflater.decompress(chunk, 1 << 20))
            if produced > limit:
                return True
            chunk = inflater.unconsumed_tail
        produced += len(inflater.flush())
    except zlib.error:
        return False  # broken streams are PDFium's to reject, page by page
    return produced > limit


def prescan(path: Path, config: dict[str, Any], manifest: Manifest) -> tuple[bool, str | None]:
    """Structure checks with pypdf: encryption, object count, stream bombs.

    Returns (go_on, password): go_on is False when a blocking finding was written; password is ""
    when the document opened with the empty user password.
    """
    stream_limit = int(float(config["pdf_max_stream_mb"]) * 1024 * 1024)
    with pypdf.apply_configuration(
        zlib_maximum_output_length=stream_limit,
        lzw_maximum_output_length=stream_limit,
        run_length_maximum_output_length=stream_limit,
        array_based_stream_maximum_output_length=stream_limit,
        maximum_declared_stream_length=stream_limit,
        image_maximum_buffer_size=stream_limit,
    ):
        try:
            reader = pypdf.PdfReader(path, strict=False)
        except Exception as exc:  # pypdf gives up on files PDFium can still repair; PDFium decides.
            manifest.event("note", detail=f"pypdf could not parse: {type(exc).__name__}: {str(exc)[:200]}")
            return True, None
        password = None
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:
                manifest.finding("encrypted", f"encryption not supported: {type(exc).__name__}: {str(exc)[:200]}")
                return False, None
            if opened == pypdf.PasswordType.NOT_DECRYPTED:
                manifest.finding("encrypted", "the empty user password does not open the document")
                return False, None
            password = ""
        entries = [(idnum, generation) for generation, ids in reader.xref.items() for idnum in ids]
        total = len(entries) + len(reader.xref_objStm)
        if total > int(config["pdf_max_objects"]):
            manifest.finding("too_complex", f"{total} objects > pdf_max_objects ({config['pdf_max_objects']})")
            return False, password
        for idnum, generation in entries:
            try:
                obj = reader.get_object(IndirectObject(idnum, generation, reader))
            except Exception:
                continue
            if not isinstance(obj, StreamObject):
                continue
            filters = obj.get("/Filter")
            first = filters[0] if isinstance(filters, list) and filters else filters
            # The raw (still encoded) bytes: pypdf keeps them on the object and has no public accessor.
            raw = getattr(obj, "_data", b"")
            if first in ("/FlateDecode", "/Fl") and isinstance(raw, bytes) and inflated_size_exceeds(raw, stream_limit):
                manifest.finding(
                    "too_complex",
                    f"object {idnum} inflates past pdf_max_stream_mb ({config['pdf_max_stream_mb']} MiB)",
                )
                return False, password
    return True, password


def process_document(
    *, path: Path, password: str | None, config: dict[str, Any], manifest: Manifest, watchdog: Watchdog
) -> None:
    """Open the document with PDFium and emit one page event (or finding) per page up to max_pages."""
    try:
        pdf = pdfium.PdfDocument(path, password=password)
    except pdfium.PdfiumError as exc:
        code = "encrypted" if getattr(exc, "err_code", None) in PASSWORD_ERRORS else "broken"
        manifest.finding(code, f"PDFium: {exc}")
        return
    try:
        _process_pages(pdf=pdf, config=config, manifest=manifest, watchdog=watchdog)
    finally:
        pdf.close()


def _process_pages(*, pdf: pdfium.PdfDocument, config: dict[str, Any], manifest: Manifest, watchdog: Watchdog) -> None:
    """The page count, then each page up to max_pages under the watchdog."""
    page_count = len(pdf)
    manifest.event("document", pages=page_count)
    max_pages = int(config["max_pages"])
    if page_count > max_pages:
        manifest.finding("too_many_pages", f"{page_count} pages", page=page_count)
    try:
        pdf.init_forms()
    except pdfium.PdfiumError:
        pass  # without a form environment, filled-in fields render from their appearance streams only
    pixels_left = int(config["max_pixels_per_file"])
    page_timeout_s = float(config["page_timeout_s"])
    for index in range(min(page_count, max_pages)):
        number = index + 1
        watchdog.start_page(manifest, page_timeout_s, number)
        try:
            pixels_left -= _process_page(pdf=pdf, index=index, config=config, manifest=manifest, pixels_left=pixels_left)
        except pdfium.PdfiumError as exc:
            manifest.finding("unreadable_page", f"PDFium: {exc}", page=number)
        finally:
            watchdog.end_page()


def _process_page(*, pdf: pdfium.PdfDocument, index: int, config: dict[str, Any], manifest: Manifest, pixels_left: int) -> int:
    """Classify, extract and render one page; returns the pixels it used from the file's budget."""
    number = index + 1
    page = pdf[index]
    if page.formenv and pdfium_c.FPDFPage_GetAnnotCount(page) > 0:
        # Filled-in form fields live in annotations, outside the page's text; flattening moves them in.
        page.flatten()
        page.close()
        page = pdf[index]
    width_pt, height_pt = page.get_size()
    if not (math.isfinite(width_pt) and math.isfinite(height_pt)) or width_pt < 1 or height_pt < 1:
        manifest.finding("unreadable_page", f"page size {width_pt}x{height_pt} pt is empty", page=number)
        return 0
    if max(width_pt, height_pt) > MAX_PAGE_SIDE_PT:
        manifest.finding(
            "image_too_large", f"page size {width_pt:.0f}x{height_pt:.0f} pt > {MAX_PAGE_SIDE_PT:.0f} pt", page=number
        )
        return 0
    render_dpi = float(config["render_dpi"])
    image_cover, single_image = _inspect_objects(page, width_pt * height_pt)
    textpage = page.get_textpage()
    lines: list[dict[str, Any]] = []
    good = bad = 0
    if textpage.count_chars() > 0:
        lines = _text_lines(page, textpage, width_pt, height_pt, render_dpi / 72.0)
        good, bad = _char_quality(lines)
    if good >= MIN_GOOD_CHARS and good >= MIN_GOOD_SHARE * (good + bad):
        content = "text_layer"
    elif bad > 0 and good < MIN_GOOD_SHARE * (good + bad):
        content = "text_unextractable"
    elif image_cover >= SCANNED_COVERAGE:
        content = "scanned"
    else:
        content = "no_text"

    if content == "text_layer":
        image, dpi = _render(page, width_pt, height_pt, float(config["preview_dpi"]), config, pixels_left)
        source, text_dpi = "pdf_text", render_dpi
    else:
        lines, text_dpi, source = [], None, "pdf_scan"
        image = dpi = None
        if content == "scanned" and single_image is not None and page.get_rotation() == 0:
            image, dpi = _native_image(single_image, width_pt, config, pixels_left)
        if image is None:
            image, dpi = _render(page, width_pt, height_pt, render_dpi, config, pixels_left)
    if image is None:
        manifest.finding("image_too_large", "page does not fit max_pixels_per_file", page=number)
        return 0
    image_name = f"page-{number:04d}.npy"
    np.save(Path(config["workdir"]) / image_name, image, allow_pickle=False)
    manifest.event(
        "page",
        number=number,
        source=source,
        content=content,
        image=image_name,
        dpi=dpi,
        text_dpi=text_dpi,
        lines=lines,
    )
    return int(image.shape[0] * image.shape[1])


def _inspect_objects(page: pdfium.PdfPage, page_area: float) -> tuple[float, pdfium.PdfImage | None]:
    """(share of the page covered by images, the one full-page image when nothing else is drawn on the page)."""
    text_objects = 0
    images: list[tuple[pdfium.PdfImage, float]] = []
    for seen, obj in enumerate(page.get_objects(max_depth=4)):
        if seen >= MAX_OBJECTS_INSPECTED:
            break
        if obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT:
            text_objects += 1
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            left, bottom, right, top = obj.get_bounds()
            images.append((obj, max(0.0, right - left) * max(0.0, top - bottom)))
    cover = min(1.0, sum(area for _, area in images) / page_area) if page_area > 0 else 0.0
    single = None
    if len(images) == 1 and text_objects == 0 and images[0][1] >= FULL_PAGE_COVERAGE * page_area:
        image, _ = images[0]
        if int(getattr(image, "level", 0)) == 0:  # drawn on the page itself, not inside a form XObject
            single = image
    return cover, single


def _char_quality(lines: list[dict[str, Any]]) -> tuple[int, int]:
    """(letters, digits and ideographs; unmapped glyphs: U+FFFD, private use, controls) in the text."""
    good = bad = 0
    for line in lines:
        for char in line["text"]:
            if char.isspace():
                continue
            category = unicodedata.category(char)
            if char == "\ufffd" or category in ("Co", "Cn", "Cc", "Cs"):
                bad += 1
            elif category[0] in ("L", "N"):
                good += 1
    return good, bad


def _text_lines(
    page: pdfium.PdfPage, textpage: pdfium.PdfTextPage, width_pt: float, height_pt: float, scale: float
) -> list[dict[str, Any]]:
    """The page's characters grouped into lines, with bboxes in pixels at ``scale`` (pixels per point).

    A line ends at a line break PDFium reports, or where the next character does not sit on the
    same baseline right after the previous one (e.g. a form value placed beside its label).
    """
    size_x = max(1, round(width_pt * scale))
    size_y = max(1, round(height_pt * scale))
    lines: list[dict[str, Any]] = []
    chars: list[str] = []
    box: list[float] | None = None  # tight ink box of the line so far
    previous: tuple[float, float, float, float] | None = None  # loose (font) box of its last character

    def flush() -> None:
        nonlocal chars, box
        text = " ".join("".join(chars).split())
        if text and box is not None:
            x0, y0 = _to_device(page, size_x, size_y, box[0], box[3])
            x1, y1 = _to_device(page, size_x, size_y, box[2], box[1])
            lines.append({"text": text, "bbox": [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]})
        chars, box = [], None

    for index in range(min(textpage.count_chars(), MAX_CHARS_PER_PAGE)):
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        char = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage, index) == 1:
            char = "\ufffd"
        if char in "\r\n":
            flush()
            continue
        if char.isspace() or pdfium_c.FPDFText_IsGenerated(textpage, index) == 1:
            if chars:
                chars.append(" ")
            continue
        try:
            loose = textpage.get_charbox(index, loose=True)
            left, bottom, right, top = textpage.get_charbox(index)
        except pdfium.PdfiumError:
            continue
        if previous is not None and not _continues_line(previous, loose):
            flush()
        previous = loose
        chars.append(char)
        box = [left, bottom, right, top] if box is None else [
            min(box[0], left), min(box[1], bottom), max(box[2], right), max(box[3], top)
        ]
    flush()
    return lines


def _continues_line(previous: tuple[float, float, float, float], char: tuple[float, float, float, float]) -> bool:
    """Whether a character's font box continues the line after the previous one: same band, just right of it."""
    left, bottom, _right, top = char
    height = max(1e-3, min(previous[3] - previous[1], top - bottom))
    if min(previous[3], top) - max(previous[1], bottom) < 0.5 * height:
        return False
    return previous[2] - height <= left <= previous[2] + 1.5 * height


def _to_device(page: pdfium.PdfPage, size_x: int, size_y: int, x: float, y: float) -> tuple[float, float]:
    """A point in PDF user space to pixels of a rendering of the page (its /Rotate and crop box applied)."""
    device_x, device_y = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(page, 0, 0, size_x, size_y, 0, x, y, device_x, device_y)
    return float(device_x.value), float(device_y.value)


def _fit_scale(width_pt: float, height_pt: float, dpi: float, config: dict[str, Any], pixels_left: int) -> float | None:
    """Pixels per point at ``dpi``, reduced so the rendering respects the side and pixel limits."""
    scale = dpi / 72.0
    max_side = float(config["max_image_side_px"])
    max_pixels = float(min(int(config["max_pixels_per_page"]), pixels_left))
    scale = min(scale, max_side / max(width_pt, height_pt))
    if width_pt * height_pt * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / (width_pt * height_pt))
    if width_pt * scale < 1 or height_pt * scale < 1:
        return None
    return scale


def _render(
    page: pdfium.PdfPage, width_pt: float, height_pt: float, dpi: float, config: dict[str, Any], pixels_left: int
) -> tuple[np.ndarray | None, float | None]:
    """The page rendered as BGR at ``dpi`` (or less, to stay within the limits), and the dpi used."""
    scale = _fit_scale(width_pt, height_pt, dpi, config, pixels_left)
    if scale is None:
        return None, None
    bitmap = page.render(
        scale=scale, fill_color=(255, 255, 255, 255), rev_byteorder=False, prefer_bgrx=False, may_draw_forms=True
    )
    image = np.ascontiguousarray(bitmap.to_numpy()[:, :, :3])
    return image, scale * 72.0


def _native_image(
    image_obj: pdfium.PdfImage, width_pt: float, config: dict[str, Any], pixels_left: int
) -> tuple[np.ndarray | None, float | None]:
    """A full-page scan at its own resolution, when it is within the limits and plainly placed."""
    try:
        px_width, px_height = image_obj.get_px_size()
        a, b, c, d, _e, _f = image_obj.get_matrix().get()
        metadata = image_obj.get_metadata()
    except pdfium.PdfiumError:
        return None, None
    if b != 0 or c != 0 or a <= 0 or d <= 0 or metadata.bits_per_pixel < 8:
        return None, None  # rotated, flipped or a 1-bit stencil: rendering gets it right
    pixels = px_width * px_height
    if (
        not 0 < pixels <= min(int(config["max_pixels_per_page"]), pixels_left)
        or max(px_width, px_height) > int(config["max_image_side_px"])
    ):
        return None, None
    try:
        bitmap = image_obj.get_bitmap(render=False)
    except pdfium.PdfiumError:
        return None, None
    array = bitmap.to_numpy()
    if array.ndim == 2:
        image = np.repeat(array[:, :, None], 3, axis=2)
    elif bitmap.rev_byteorder:
        image = np.ascontiguousarray(array[:, :, 2::-1])
    else:
        image = np.ascontiguousarray(array[:, :, :3])
    return image, px_width / (width_pt / 72.0)


def handle_document(workdir: Path, watchdog: Watchdog) -> bool:
    """Process WORKDIR/input.pdf as described in the module docstring; False when the worker must not go on."""
    stderr = os.open(workdir / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(stderr, 2)
    os.close(stderr)
    config = json.loads((workdir / "config.json").read_text(encoding="utf-8"))
    limit_cpu(float(config["pdf_timeout_s"]))
    config["workdir"] = str(workdir)
    manifest = Manifest(workdir / MANIFEST)
    healthy = True
    try:
        path = workdir / "input.pdf"
        go_on, password = prescan(path, config, manifest)
        if go_on:
            process_document(path=path, password=password, config=config, manifest=manifest, watchdog=watchdog)
    except MemoryError:
        # The heap may be left fragmented or half-freed: finish this document, then let a fresh worker take over.
        healthy = False
        manifest.finding("memory", f"pdf_memory_mb ({config['pdf_memory_mb']} MiB) exceeded")
    except RecursionError:
        manifest.finding("too_complex", "object nesting too deep")
    except Exception as exc:  # anything else the parsers raise on a hostile file means "broken"
        manifest.finding("broken", f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        watchdog.end_page()
    manifest.event("done")
    manifest.close()
    gc.collect()
    return healthy


def main(argv: list[str]) -> int:
    """Serve documents until stdin closes, as described in the module docstring."""
    memory_mb, max_file_bytes = int(argv[1]), int(argv[2])
    # Replies go to a private copy of stdout; library chatter on fd 1 goes to stderr instead.
    replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    limit_process(memory_mb, max_file_bytes)
    # The imported modules stay for the worker's life; frozen, they cost nothing in each document's collection.
    gc.collect()
    gc.freeze()
    watchdog = Watchdog()
    watchdog.start()
    replies.write("ready\n")
    while line := sys.stdin.buffer.readline():
        workdir = Path(line.decode("utf-8", "replace").strip())
        if not (workdir / "config.json").is_file():
            return 2
        healthy = handle_document(workdir, watchdog)
        replies.write("done\n" if healthy else "done exit\n")
        if not healthy:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
