"""PDF intake in the calling process: hand the file to a pooled sandboxed worker and turn its events into pages and findings."""

from __future__ import annotations

import json
import logging
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prereview.intake import findings
from prereview.intake.pdf_pool import PdfWorkerPool
from prereview.pages import Page, TextLine
from prereview.report import Finding
from prereview.settings import PrereviewSettings

logger = logging.getLogger(__name__)

_PAGE_FILE = re.compile(r"page-\d{4}\.npy")
_CONTENT_KINDS = {"text_layer", "scanned", "no_text", "text_unextractable"}
_SOURCES = {"pdf_text", "pdf_scan"}
_STDERR_TAIL_BYTES = 2000


@dataclass
class DecodedPdf:
    """Pages and findings from one PDF."""

    pages: list[Page] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _worker_config(settings: PrereviewSettings) -> dict[str, Any]:
    """The settings the worker needs, as JSON-ready values."""
    return {
        key: getattr(settings, key)
        for key in (
            "max_pages",
            "max_pixels_per_page",
            "max_pixels_per_file",
            "max_image_side_px",
            "pdf_max_objects",
            "pdf_max_stream_mb",
            "pdf_timeout_s",
            "pdf_memory_mb",
            "page_timeout_s",
            "render_dpi",
            "preview_dpi",
        )
    }


_pool = PdfWorkerPool()


def warm_pdf_pool(*, settings: PrereviewSettings, wait_s: float = 0.0) -> int:
    """Start the idle PDF workers now (e.g. while the OCR engine loads); wait up to ``wait_s`` for them; return how many are ready."""
    return _pool.warm(settings, wait_s=wait_s)


def stop_pdf_pool() -> None:
    """Kill the idle PDF workers (at application shutdown); the next PDF starts fresh ones."""
    _pool.close()


def decode_pdf(*, name: str, data: bytes, settings: PrereviewSettings) -> DecodedPdf:
    """Pages of one PDF, decoded in a worker process under time and memory limits."""
    if b"%%EOF" not in data:
        return DecodedPdf(findings=[findings.truncated_file(file=name, detail="no %%EOF marker: the file ends early")])
    with tempfile.TemporaryDirectory(prefix="prereview-pdf-") as tmp:
        workdir = Path(tmp)
        (workdir / "input.pdf").write_bytes(data)
        (workdir / "config.json").write_text(json.dumps(_worker_config(settings)), encoding="utf-8")
        started = time.monotonic()
        outcome = _pool.run(workdir, settings)
        elapsed = time.monotonic() - started
        return _collect(name=name, workdir=workdir, returncode=outcome.returncode, elapsed_s=elapsed, settings=settings)


def _read_events(workdir: Path) -> list[dict[str, Any]]:
    manifest = workdir / "manifest.jsonl"
    if not manifest.exists():
        return []
    events = []
    for line in manifest.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if isinstance(event, dict):
            events.append(event)
    return events


def _stderr_tail(workdir: Path) -> str:
    path = workdir / "stderr.txt"
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - _STDERR_TAIL_BYTES))
        lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def _load_page(*, name: str, workdir: Path, event: dict[str, Any], settings: PrereviewSettings) -> Page | None:
    """A page event as a Page, after checking everything the worker wrote (it parsed hostile bytes)."""
    image_name = str(event.get("image", ""))
    if not _PAGE_FILE.fullmatch(image_name) or event.get("source") not in _SOURCES:
        return None
    path = workdir / image_name
    if not path.is_file() or path.stat().st_size > settings.max_pixels_per_page * 3 + 4096:
        return None
    image = np.load(path, allow_pickle=False)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        return None
    if image.shape[0] * image.shape[1] > settings.max_pixels_per_page:
        return None
    lines = [
        TextLine(text=str(line["text"]), bbox=tuple(float(v) for v in line["bbox"][:4]))  # type: ignore[arg-type]
        for line in event.get("lines", [])
        if isinstance(line, dict) and len(line.get("bbox", [])) == 4
    ]
    content = event.get("content")
    return Page(
        file=name,
        number=int(event["number"]),
        source=event["source"],
        image=image,
        text_lines=lines,
        dpi=float(event["dpi"]) if event.get("dpi") else None,
        text_dpi=float(event["text_dpi"]) if event.get("text_dpi") else None,
        pdf_content=content if content in _CONTENT_KINDS else None,
    )


def _finding(name: str, event: dict[str, Any], total_pages: int | None, settings: PrereviewSettings) -> Finding:
    code = event.get("code")
    detail = str(event.get("detail", ""))
    page = event.get("page") if isinstance(event.get("page"), int) else None
    if code == "encrypted":
        return findings.encrypted_pdf(file=name, detail=detail)
    if code == "too_many_pages":
        return findings.too_many_pages(file=name, total_pages=total_pages, max_pages=settings.max_pages)
    if code == "image_too_large":
        return findings.image_too_large(file=name, page=page, detail=detail)
    if code == "unreadable_page" and page is not None:
        return findings.unreadable_page(file=name, page=page, detail=detail)
    if code == "too_complex":
        return findings.too_complex(file=name, detail=detail)
    if code == "memory":
        return findings.too_complex(file=name, detail=f"memory: {detail}")
    return findings.broken_file(file=name, detail=detail)


def _collect(
    *, name: str, workdir: Path, returncode: int | None, elapsed_s: float, settings: PrereviewSettings
) -> DecodedPdf:
    result = DecodedPdf()
    events = _read_events(workdir)
    total_pages = next((int(e["pages"]) for e in events if e.get("event") == "document"), None)
    finished = any(e.get("event") == "done" for e in events)
    for event in events:
        kind = event.get("event")
        if kind == "page":
            page = _load_page(name=name, workdir=workdir, event=event, settings=settings)
            if page is None:
                result.findings.append(
                    findings.unreadable_page(file=name, page=int(event.get("number", 0)), detail="invalid worker output")
                )
            else:
                result.pages.append(page)
        elif kind == "finding":
            result.findings.append(_finding(name, event, total_pages, settings))
        elif kind == "note":
            logger.debug("PDF worker note: %s", str(event.get("detail", ""))[:300])
        elif kind == "page_timeout":
            result.findings.append(
                findings.processing_timeout(
                    file=name,
                    page=int(event["page"]),
                    detail=f"page {event['page']} took longer than page_timeout_s ({settings.page_timeout_s} s); "
                    "later pages were not decoded",
                )
            )
            finished = True
    if finished:
        return result
    done = f"{len(result.pages)} of {total_pages if total_pages is not None else '?'} pages decoded"
    if returncode is None or returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        result.findings.append(
            findings.processing_timeout(
                file=name, detail=f"PDF worker stopped after {elapsed_s:.1f} s (pdf_timeout_s={settings.pdf_timeout_s}); {done}"
            )
        )
    elif returncode < 0:
        result.findings.append(
            findings.too_complex(
                file=name,
                detail=f"PDF engine died with {signal.Signals(-returncode).name} "
                f"(pdf_memory_mb={settings.pdf_memory_mb}); {done}",
            )
        )
    else:
        tail = _stderr_tail(workdir)
        if "MemoryError" in tail:
            result.findings.append(findings.too_complex(file=name, detail=f"memory: pdf_memory_mb={settings.pdf_memory_mb}; {done}"))
        else:
            result.findings.append(findings.broken_file(file=name, detail=f"PDF worker exit {returncode}: {tail[:300]}; {done}"))
    return result
