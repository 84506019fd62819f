"""Page previews: every page of every file as a JPEG, with the size of the coordinate space findings use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2

from prereview.intake import intake_file
from prereview.settings import PrereviewSettings
from hotline.submissions.storage import BlobStore


def render_previews(
    *,
    files: Sequence[tuple[str, bytes]],
    store: BlobStore,
    max_side_px: int,
    jpeg_quality: int,
    prereview_settings: PrereviewSettings,
) -> list[dict[str, Any]]:
    """Decode each file into pages and store a downscaled JPEG of each; returns one entry per page.

    ``width``/``height`` are in the pixels finding boxes are given in (the decoded page image, or the
    text-layer resolution for PDF pages read from their text), so an SVG with that viewBox overlays
    boxes on the preview exactly.
    """
    previews: list[dict[str, Any]] = []
    for file_index, (name, data) in enumerate(files):
        result = intake_file(name=name, data=data, settings=prereview_settings)
        for page in result.pages:
            if page.image is None:
                continue
            height, width = page.image.shape[:2]
            scale = min(1.0, max_side_px / max(width, height))
            image = page.image
            if scale < 1.0:
                image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            if not ok:
                continue
            coordinate_factor = 1.0
            if page.source == "pdf_text" and page.dpi and page.text_dpi:
                coordinate_factor = page.text_dpi / page.dpi
            previews.append({
                "file_index": file_index,
                "file": name,
                "page": page.number,
                "width": width if coordinate_factor == 1.0 else round(width * coordinate_factor, 2),
                "height": height if coordinate_factor == 1.0 else round(height * coordinate_factor, 2),
                "preview": store.put_bytes(encoded.tobytes()),
                "preview_width": image.shape[1],
                "preview_height": image.shape[0],
            })
    return previews
