"""OCR engines: RapidOCR (PP-OCR ONNX models shipped in the wheel), PaddleOCR, and a deterministic fake."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from prereview.pages import TextLine

Region = tuple[int, int, int, int]


class OcrUnavailableError(RuntimeError):
    """The OCR engine cannot be built here (package or model files missing)."""


@runtime_checkable
class OcrEngine(Protocol):
    """Reads text lines from a BGR page image.

    ``use_cls`` asks for the text-orientation classifier (slower; needed only for upside-down text).
    ``regions`` restricts recognition to [x0, y0, x1, y1] boxes; returned boxes are in page pixels.
    """

    name: str

    def recognise(
        self, image: np.ndarray, *, use_cls: bool = False, regions: Sequence[Region] | None = None
    ) -> list[TextLine]:
        """Text lines on the image (or inside the given regions), top-to-bottom reading order."""
        ...


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Sort lines top-to-bottom, then left-to-right within a row of similar height."""
    if not lines:
        return []
    ordered = sorted(lines, key=lambda line: (line.bbox[1] + line.bbox[3]) / 2)
    rows: list[list[TextLine]] = []
    for line in ordered:
        centre = (line.bbox[1] + line.bbox[3]) / 2
        height = max(line.bbox[3] - line.bbox[1], 1.0)
        if rows:
            last = rows[-1][0]
            last_centre = (last.bbox[1] + last.bbox[3]) / 2
            if abs(centre - last_centre) < 0.5 * height:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.bbox[0])]


def _crop_regions(
    image: np.ndarray, regions: Sequence[Region] | None
) -> list[tuple[np.ndarray, int, int]]:
    if regions is None:
        return [(image, 0, 0)]
    height, width = image.shape[:2]
    crops = []
    for x0, y0, x1, y1 in regions:
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(width, int(x1)), min(height, int(y1))
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            crops.append((image[y0:y1, x0:x1], x0, y0))
    return crops


class RapidOcrEngine:
    """RapidOCR with the PP-OCR ONNX models bundled in the ``rapidocr`` wheel (offline).

    Build it once per worker process; ``max_side_px`` downscales large pages before detection
    (0 keeps RapidOCR's own resizing), ``threads`` bounds onnxruntime's intra-op threads (0 = auto).
    """

    name = "rapidocr"

    def __init__(self, *, max_side_px: int = 0, threads: int = 0, text_score: float = 0.5) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as error:  # pragma: no cover - rapidocr is a hard dependency
            raise OcrUnavailableError(f"rapidocr is not installed: {error}") from error
        params: dict[str, Any] = {"Global.log_level": "error", "Global.use_cls": True, "Global.text_score": text_score}
        if threads > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        if max_side_px > 0:
            params["Det.limit_type"] = "max"
            params["Det.limit_side_len"] = max_side_px
            params["Global.max_side_len"] = max_side_px
        self.max_side_px = max_side_px
        self._engine = RapidOCR(params=params)

    def recognise(
        self, image: np.ndarray, *, use_cls: bool = False, regions: Sequence[Region] | None = None
    ) -> list[TextLine]:
        """Text lines on the image (or inside the given regions)."""
        lines: list[TextLine] = []
        for crop, dx, dy in _crop_regions(image, regions):
            result = self._engine(crop, use_cls=use_cls)
            if result.txts is None or result.boxes is None or result.scores is None:
                continue
            for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
                points = np.asarray(box, dtype=float)
                bbox = (
                    float(points[:, 0].min()) + dx,
                    float(points[:, 1].min()) + dy,
                    float(points[:, 0].max()) + dx,
                    float(points[:, 1].max()) + dy,
                )
                lines.append(TextLine(text=str(text), bbox=bbox, confidence=float(score)))
        return reading_order(lines)


class PaddleOcrEngine:
    """PaddleOCR 3.x with locally installed model directories (no download at run time)."""

    name = "paddleocr"

    def __init__(self, *, det_model_dir: Path, rec_model_dir: Path, cls_model_dir: Path | None = None) -> None:
        if importlib.util.find_spec("paddleocr") is None:
            raise OcrUnavailableError("paddleocr is not installed (pip install '.[paddle]')")
        for label, folder in (("det", det_model_dir), ("rec", rec_model_dir)):
            if not Path(folder).is_dir():
                raise OcrUnavailableError(f"PaddleOCR {label} model folder {folder} does not exist")
        from paddleocr import PaddleOCR

        options: dict[str, Any] = {
            "text_detection_model_dir": str(det_model_dir),
            "text_recognition_model_dir": str(rec_model_dir),
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": cls_model_dir is not None,
        }
        if cls_model_dir is not None:
            options["textline_orientation_model_dir"] = str(cls_model_dir)
        self._engine = PaddleOCR(**options)

    def recognise(
        self, image: np.ndarray, *, use_cls: bool = False, regions: Sequence[Region] | None = None
    ) -> list[TextLine]:
        """Text lines on the image (or inside the given regions)."""
        lines: list[TextLine] = []
        for crop, dx, dy in _crop_regions(image, regions):
            for result in self._engine.predict(crop):
                for text, score, box in zip(result["rec_texts"], result["rec_scores"], result["rec_boxes"], strict=True):
                    x0, y0, x1, y1 = (float(value) for value in box)
                    lines.append(TextLine(text=str(text), bbox=(x0 + dx, y0 + dy, x1 + dx, y1 + dy), confidence=float(score)))
        return reading_order(lines)


class FakeOcrEngine:
    """Deterministic engine for tests: returns the lines a ``script`` gives for each image.

    ``script`` maps an image to its lines (e.g. by looking up a content hash); a plain list is
    returned for every image. Calls are counted in ``calls``.
    """

    name = "fake"

    def __init__(self, script: Callable[[np.ndarray], list[TextLine]] | list[TextLine]) -> None:
        self._script = script
        self.calls = 0

    def recognise(
        self, image: np.ndarray, *, use_cls: bool = False, regions: Sequence[Region] | None = None
    ) -> list[TextLine]:
        """The scripted lines, filtered to those whose centre lies inside ``regions`` when given."""
        self.calls += 1
        lines = self._script(image) if callable(self._script) else list(self._script)
        if regions is not None:
            lines = [line for line in lines if any(_centre_inside(line, region) for region in regions)]
        return reading_order(lines)


def _centre_inside(line: TextLine, region: Region) -> bool:
    x = (line.bbox[0] + line.bbox[2]) / 2
    y = (line.bbox[1] + line.bbox[3]) / 2
    return region[0] <= x <= region[2] and region[1] <= y <= region[3]

