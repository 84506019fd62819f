"""The PDF worker: runs as ``python -m prereview.intake.pdf_worker WORKDIR`` under resource limits.

Untrusted PDFs are parsed here, never in the calling process. The worker reads ``input.pdf`` and
``config.json`` from WORKDIR and appends one JSON event per line to ``manifest.jsonl``; page
images go to ``page-NNNN.npy`` (BGR uint8, written before the event that names them). No pickle
crosses the process boundary. The caller enforces the wall-clock limit; this process enforces
its own address-space and CPU limits and a per-page watchdog.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

EXIT_PAGE_TIMEOUT = 3
MANIFEST = "manifest.jsonl"


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

    def exit_on_timeout(self, page: int, limit_s: float) -> None:
        """Record the page that ran out of time and end the process at once (PDFium cannot be interrupted)."""
        with self._lock:
            self._file.write(json.dumps({"event": "page_timeout", "page": page, "limit_s": limit_s}) + "\n")
            self._file.flush()
            os._exit(EXIT_PAGE_TIMEOUT)


class Watchdog(threading.Thread):
    """Ends the worker when one page takes longer than page_timeout_s."""

    def __init__(self, manifest: Manifest, limit_s: float) -> None:
        super().__init__(daemon=True)
        self._manifest = manifest
        self._limit_s = limit_s
        self._page: int | None = None
        self._page_started = 0.0

    def start_page(self, number: int) -> None:
        self._page_started = time.monotonic()
        self._page = number

    def end_page(self) -> None:
        self._page = None

    def run(self) -> None:
        while True:
            time.sleep(0.05)
            page = self._page
            if page is not None and time.monotonic() - self._page_started > self._limit_s:
                self._manifest.exit_on_timeout(page, self._limit_s)


def limit_resources(config: dict[str, Any]) -> None:
    """Cap address space, CPU time and core dumps before any untrusted byte is parsed."""
    memory = int(config["pdf_memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(math.ceil(float(config["pdf_timeout_s"]))) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
    import pypdf
    from pypdf.generic import IndirectObject, StreamObject

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


def main(argv: list[str]) -> int:
    """Process WORKDIR/input.pdf as described in the module docstring."""
    workdir = Path(argv[1])
    config = json.loads((workdir / "config.json").read_text(encoding="utf-8"))
    limit_resources(config)
    config["workdir"] = str(workdir)
    manifest = Manifest(workdir / MANIFEST)
    try:
        from prereview.intake.pdf_pages import process_document

        path = workdir / "input.pdf"
        go_on, password = prescan(path, config, manifest)
        if go_on:
            watchdog = Watchdog(manifest, float(config["page_timeout_s"]))
            watchdog.start()
            process_document(path=path, password=password, config=config, manifest=manifest, watchdog=watchdog)
    except MemoryError:
        manifest.finding("memory", f"pdf_memory_mb ({config['pdf_memory_mb']} MiB) exceeded")
    except RecursionError:
        manifest.finding("too_complex", "object nesting too deep")
    except Exception as exc:  # anything else the parsers raise on a hostile file means "broken"
        manifest.finding("broken", f"{type(exc).__name__}: {str(exc)[:300]}")
    manifest.event("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
