"""Make rendered documents look photographed: background, perspective, blur, noise, light, JPEG; and defects."""

from __future__ import annotations

import random

import cv2
import numpy as np
from PIL import Image

PHOTO_DEFECTS = ("blurry", "dark", "overexposed", "cropped")


def to_bgr(image: Image.Image) -> np.ndarray:
    """A Pillow RGB image as an OpenCV BGR array."""
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)


def photograph(image: Image.Image, rng: random.Random, *, defect: str | None = None, max_side_px: int = 1400,
               scan: bool = False) -> np.ndarray:
    """A BGR 'phone photo' (or flat scan) of the document, with a realistic mild degradation or one defect."""
    document = to_bgr(image)
    height, width = document.shape[:2]
    if scan:
        canvas = document
    else:
        margin_x, margin_y = int(width * rng.uniform(0.06, 0.14)), int(height * rng.uniform(0.06, 0.14))
        out_w, out_h = width + 2 * margin_x, height + 2 * margin_y
        background = np.full((out_h, out_w, 3), [rng.randint(60, 140), rng.randint(60, 130), rng.randint(50, 120)],
                             dtype=np.uint8)
        jitter = 0.025
        source = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        target = np.float32([
            [margin_x + rng.uniform(-jitter, jitter) * width, margin_y + rng.uniform(-jitter, jitter) * height],
            [margin_x + width + rng.uniform(-jitter, jitter) * width, margin_y + rng.uniform(-jitter, jitter) * height],
            [margin_x + width + rng.uniform(-jitter, jitter) * width,
             margin_y + height + rng.uniform(-jitter, jitter) * height],
            [margin_x + rng.uniform(-jitter, jitter) * width, margin_y + height + rng.uniform(-jitter, jitter) * height],
        ])
        if defect == "cropped":
            shift_x = -width * rng.uniform(0.22, 0.3) if rng.random() < 0.5 else width * rng.uniform(0.22, 0.3)
            target[:, 0] += shift_x
        matrix = cv2.getPerspectiveTransform(source, target)
        canvas = cv2.warpPerspective(document, matrix, (out_w, out_h), dst=background.copy(),
                                     borderMode=cv2.BORDER_TRANSPARENT)
        canvas = _shadow(canvas, rng, strength=rng.uniform(0.0, 0.18))
    scale = min(1.0, max_side_px / max(canvas.shape[:2]))
    if scale < 1.0:
        canvas = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = canvas.astype(np.float32)
    if defect == "blurry":
        sigma = rng.uniform(4.0, 6.0)
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    elif not scan:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.3, 0.8))
    if defect == "dark":
        canvas = canvas * rng.uniform(0.12, 0.2)
    elif defect == "overexposed":
        canvas = canvas * rng.uniform(1.7, 2.1) + 60
    else:
        canvas = canvas * rng.uniform(0.9, 1.05) + rng.uniform(-8, 8)
    canvas += np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(1.5, 4.0), canvas.shape)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    return canvas


def _shadow(image: np.ndarray, rng: random.Random, *, strength: float) -> np.ndarray:
    height, width = image.shape[:2]
    gradient = np.linspace(1.0 - strength, 1.0, width, dtype=np.float32)
    if rng.random() < 0.5:
        gradient = gradient[::-1]
    return np.clip(image.astype(np.float32) * gradient[None, :, None], 0, 255).astype(np.uint8)


def encode_jpeg(image: np.ndarray, rng: random.Random, *, quality: int | None = None) -> bytes:
    """JPEG bytes at a phone-like quality (75-92 unless given)."""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality or rng.randint(75, 92)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()
