"""OCR result cache keyed by page content hash: an in-memory LRU, optionally backed by a folder."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from prereview.ocr.engines import OcrEngine, Region
from prereview.pages import TextLine


def page_hash(image: np.ndarray) -> str:
    """SHA-256 of the pixel data and shape: equal pages share OCR results."""
    digest = hashlib.sha256()
    digest.update(repr((image.shape, str(image.dtype))).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


class CachedOcrEngine:
    """Wraps an engine; repeated pages (same pixels, same options) are answered from the cache."""

    def __init__(self, engine: OcrEngine, *, max_entries: int = 256, cache_dir: Path | None = None) -> None:
        self.engine = engine
        self.name = engine.name
        self.max_entries = max_entries
        self.cache_dir = cache_dir
        self.hits = 0
        self.misses = 0
        self._memory: OrderedDict[str, list[TextLine]] = OrderedDict()
        self._lock = threading.Lock()
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)

    def _key(self, image: np.ndarray, use_cls: bool, regions: Sequence[Region] | None) -> str:
        options = json.dumps([self.engine.name, use_cls, [list(map(int, r)) for r in regions] if regions else None])
        return hashlib.sha256((page_hash(image) + options).encode()).hexdigest()

    def recognise(
        self, image: np.ndarray, *, use_cls: bool = False, regions: Sequence[Region] | None = None
    ) -> list[TextLine]:
        """Cached text lines, or the wrapped engine's answer (then stored)."""
        key = self._key(image, use_cls, regions)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.hits += 1
                return list(self._memory[key])
        lines = self._read_disk(key)
        if lines is None:
            self.misses += 1
            lines = self.engine.recognise(image, use_cls=use_cls, regions=regions)
            self._write_disk(key, lines)
        else:
            self.hits += 1
        with self._lock:
            self._memory[key] = lines
            while len(self._memory) > self.max_entries:
                self._memory.popitem(last=False)
        return list(lines)

    def _path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{key}.json"

    def _read_disk(self, key: str) -> list[TextLine] | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            return [TextLine(text=row["text"], bbox=tuple(row["bbox"]), confidence=row["confidence"]) for row in rows]
        except (ValueError, KeyError, TypeError):
            return None

    def _write_disk(self, key: str, lines: list[TextLine]) -> None:
        path = self._path(key)
        if path is None:
            return
        rows = [{"text": line.text, "bbox": list(line.bbox), "confidence": line.confidence} for line in lines]
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)
