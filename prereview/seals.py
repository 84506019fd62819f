"""Red official seals (HSV red mask + circle test, seal text via polar unwrap) and handwritten signatures."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from prereview.ocr import OcrEngine
from prereview.pages import TextLine

SIGNATURE_LABELS = ("签名", "签字", "签章", "签署")


@dataclass(frozen=True)
class Seal:
    """A round red seal found on a page: centre, radius and bbox in page pixels."""

    centre: tuple[float, float]
    radius: float
    ring_coverage: float

    @property
    def bbox(self) -> list[float]:
        """[x0, y0, x1, y1] of the seal."""
        x, y, r = self.centre[0], self.centre[1], self.radius
        return [x - r, y - r, x + r, y + r]


def red_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of seal-red ink (both ends of the hue circle, saturated enough)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    low = cv2.inRange(hsv, (0, 100, 70), (10, 255, 255))
    high = cv2.inRange(hsv, (160, 100, 70), (180, 255, 255))
    return cv2.bitwise_or(low, high)


def find_seals(image: np.ndarray, *, min_radius_share: float = 0.04) -> list[Seal]:
    """Round red seals: red blobs that are roughly circular and carry a ring along their edge."""
    mask = red_mask(image)
    height, width = mask.shape
    min_radius = min_radius_share * min(height, width)
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    # RETR_LIST: a seal may sit inside a larger red region (a red desk around the paper).
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    seals: list[Seal] = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True):
        (cx, cy), radius = cv2.minEnclosingCircle(contour)
        if radius < min_radius or radius > 0.45 * min(height, width):
            continue
        if any(np.hypot(cx - seal.centre[0], cy - seal.centre[1]) < seal.radius for seal in seals):
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if not 0.7 <= w / max(h, 1) <= 1.4:
            continue
        coverage = _ring_coverage(mask, cx, cy, radius)
        if coverage >= 0.6:
            seals.append(Seal(centre=(cx, cy), radius=radius, ring_coverage=coverage))
    return seals


def _ring_coverage(mask: np.ndarray, cx: float, cy: float, radius: float) -> float:
    hits = 0
    samples = 120
    for k in range(samples):
        angle = 2 * np.pi * k / samples
        found = False
        for r in np.linspace(radius * 0.85, radius * 1.0, 6):
            x, y = int(cx + r * np.cos(angle)), int(cy + r * np.sin(angle))
            if 0 <= y < mask.shape[0] and 0 <= x < mask.shape[1] and mask[y, x]:
                found = True
                break
        hits += found
    return hits / samples


def unwrap_seal(image: np.ndarray, seal: Seal) -> np.ndarray:
    """The seal's ring of text unrolled into a horizontal strip (black on white), upper arc in the middle."""
    mask = red_mask(image)
    ink = cv2.bitwise_not(mask)
    radius = int(seal.radius)
    rows = 720
    polar = cv2.warpPolar(ink, (radius, rows), seal.centre, radius, cv2.WARP_POLAR_LINEAR + cv2.INTER_LINEAR)
    # Rows run over the angle (0° = +x, clockwise on screen); start at 90° (bottom) so 270° (top) is central.
    polar = np.roll(polar, -rows // 4, axis=0)
    band = polar[:, int(radius * 0.5): int(radius * 0.93)]
    strip = cv2.flip(cv2.transpose(band), 0)
    # Keep the glyphs' aspect: one row of the polar image spans 2πr/rows pixels of arc at the text radius.
    scale = 48 / max(strip.shape[0], 1)
    arc_per_row = 2 * np.pi * radius * 0.72 / rows
    strip = cv2.resize(strip, None, fx=arc_per_row * scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(cv2.copyMakeBorder(strip, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255), cv2.COLOR_GRAY2BGR)


def read_seal_text(image: np.ndarray, seal: Seal, engine: OcrEngine) -> tuple[str, float]:
    """Text around the seal's rim and the mean OCR confidence ("" and 0.0 when nothing is read)."""
    lines = engine.recognise(unwrap_seal(image, seal))
    if not lines:
        return "", 0.0
    text = "".join(line.text for line in lines)
    return text, float(np.mean([line.confidence for line in lines]))


def name_similarity(expected: str, found: str) -> float:
    """Share of the expected name's characters found in order in ``found`` (longest common subsequence)."""
    if not expected:
        return 0.0
    previous = [0] * (len(found) + 1)
    for char in expected:
        current = [0]
        for index, other in enumerate(found):
            current.append(previous[index] + 1 if char == other else max(previous[index + 1], current[index]))
        previous = current
    return previous[-1] / len(expected)


@dataclass(frozen=True)
class SignatureCheck:
    """Signature labels found on a page and whether ink follows each."""

    labels: list[TextLine]
    signed: list[bool]

    @property
    def present(self) -> bool | None:
        """True if a label is followed by ink, False if none is, None when no label was found."""
        if not self.labels:
            return None
        return any(self.signed)


def ink_mask(image: np.ndarray) -> np.ndarray:
    """Dark strokes (text, handwriting) relative to the local paper brightness."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 25)


def check_signatures(image: np.ndarray, lines: list[TextLine], *, min_ink_share: float = 0.03) -> SignatureCheck:
    """For each 签名/签字 label, look for handwriting ink in the space to its right."""
    labels = [line for line in lines if any(word in line.text for word in SIGNATURE_LABELS)]
    if not labels:
        return SignatureCheck([], [])
    mask = ink_mask(image)
    height, width = mask.shape
    glyph_px = float(np.median([line.bbox[3] - line.bbox[1] for line in lines]))
    signed = []
    for label in labels:
        x0, y0, x1, y1 = label.bbox
        # OCR often merges the scribble into the label's line; cut the box after the label word.
        end = max(label.text.find(word) + len(word) for word in SIGNATURE_LABELS if word in label.text)
        while end < len(label.text) and label.text[end] in "）)：: ":
            end += 1
        # Chinese glyphs are about as wide as a text line is tall; the page's median line height is used
        # because a label merged with a tall scribble has an inflated box.
        x1 = min(x1, x0 + end * glyph_px)
        line_height = max(y1 - y0, 10)
        right_limit = x1 + 8 * line_height
        for other in lines:
            if other is not label and other.bbox[0] > x1 + line_height and abs(other.bbox[1] - y0) < line_height:
                if not any(word in other.text for word in ("日期", "年", "月")):
                    continue
                right_limit = min(right_limit, other.bbox[0])
        region = mask[max(0, int(y0 - 0.8 * line_height)): min(height, int(y1 + 0.8 * line_height)),
                      int(x1 + 0.2 * line_height): min(width, int(right_limit))]
        signed.append(region.size > 0 and float(np.mean(region > 0)) >= min_ink_share)
    return SignatureCheck(labels, signed)
