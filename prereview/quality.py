"""Image quality gate before OCR: blur, darkness, glare, resolution, cropping, and skew estimate/correction."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from prereview.report import Finding, FindingCode

ANALYSIS_SIDE_PX = 1000


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of the quality gate; calibrated on the synthetic corpus (see docs/prereview.md)."""

    min_sharpness: float = 150.0
    min_brightness: float = 90.0
    max_saturated_share: float = 0.5
    min_ink_level: float = 80.0
    min_short_side_px: int = 300
    min_long_side_px: int = 500
    max_skew_deg: float = 1.5


@dataclass
class QualityResult:
    """Measurements of one page image and the findings they raise."""

    sharpness: float
    brightness: float
    saturated_share: float
    ink_level: float
    touching_sides: int
    skew_deg: float
    findings: list[Finding] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        """Whether the page is too poor to read reliably."""
        return any(finding.severity == "blocking" for finding in self.findings)


def _analysis_gray(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    scale = ANALYSIS_SIDE_PX / max(gray.shape[:2])
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def sharpness(gray: np.ndarray, *, grid: int = 8, top: int = 6) -> float:
    """Variance of the Laplacian in the sharpest tiles of the page rescaled to a fixed size.

    Averaging the ``top`` of ``grid``×``grid`` tiles keeps a sparse page (a few lines on white paper)
    from looking blurred, which a whole-page variance would.
    """
    laplacian = cv2.Laplacian(gray, cv2.CV_64F)
    height, width = laplacian.shape
    tile_h, tile_w = max(height // grid, 1), max(width // grid, 1)
    variances = sorted(
        float(laplacian[row:row + tile_h, col:col + tile_w].var())
        for row in range(0, height - tile_h + 1, tile_h)
        for col in range(0, width - tile_w + 1, tile_w)
    )
    return float(np.mean(variances[-top:]))


def ink_level(gray: np.ndarray) -> float:
    """Grey level of the darkest 0.1 % of the pixels that are not blown out (text ink; light when washed out).

    The 1st percentile reached into the paper of a photo with little ink (97 on clean pages against
    107 on overexposed ones); the 0.1th keeps to the strokes (clean ≤ 73, overexposed ≥ 86).
    """
    rest = gray[gray < 250]
    return float(np.percentile(rest, 0.1)) if rest.size else 255.0


def touching_sides(gray: np.ndarray) -> int:
    """How many image borders the document (largest bright region) runs into; 4 for a flat scan."""
    blurred = cv2.GaussianBlur(gray, (5, 5), 0)
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0
    largest = max(contours, key=cv2.contourArea)
    height, width = gray.shape[:2]
    if cv2.contourArea(largest) < 0.2 * height * width:
        return 0
    x, y, w, h = cv2.boundingRect(largest)
    edge = 3
    return sum((x <= edge, y <= edge, x + w >= width - edge, y + h >= height - edge))


def estimate_skew(gray: np.ndarray) -> float:
    """Dominant text-line angle in degrees (positive = counter-clockwise), from near-horizontal edges."""
    edges = cv2.Canny(gray, 50, 150)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 360, threshold=80, minLineLength=gray.shape[1] // 6, maxLineGap=8)
    if lines is None:
        return 0.0
    angles = []
    for x0, y0, x1, y1 in lines.reshape(-1, 4):
        angle = np.degrees(np.arctan2(y0 - y1, x1 - x0))
        if abs(angle) < 15:
            angles.append(angle)
    return float(np.median(angles)) if len(angles) >= 3 else 0.0


def deskew(image: np.ndarray, angle_deg: float) -> np.ndarray:
    """The image rotated by ``angle_deg`` back to level, canvas enlarged so nothing is cut off."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle_deg, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return cv2.warpAffine(image, matrix, (new_w, new_h), borderMode=cv2.BORDER_REPLICATE)


def check_quality(image: np.ndarray, *, thresholds: QualityThresholds, file: str | None = None,
                  page: int | None = None) -> QualityResult:
    """Measure one page and return findings with plain Chinese fix-it messages."""
    height, width = image.shape[:2]
    gray = _analysis_gray(image)
    result = QualityResult(
        sharpness=sharpness(gray),
        brightness=float(np.percentile(gray, 90)),
        saturated_share=float(np.mean(gray >= 250)),
        ink_level=ink_level(gray),
        touching_sides=touching_sides(gray),
        skew_deg=estimate_skew(gray),
    )

    def add(code: FindingCode, message: str, detail: str, severity: str = "blocking") -> None:
        result.findings.append(Finding(code=code, severity=severity, file=file, page=page, message=message,
                                       detail=detail))

    if min(height, width) < thresholds.min_short_side_px or max(height, width) < thresholds.min_long_side_px:
        add(FindingCode.image_low_resolution, "图片分辨率太低，请靠近文件重新拍摄或上传清晰原图。",
            f"{width}×{height} px; minimum {thresholds.min_long_side_px}×{thresholds.min_short_side_px}")
    if result.brightness < thresholds.min_brightness:
        add(FindingCode.image_too_dark, "照片太暗，请在光线充足处重新拍摄。",
            f"90th-percentile brightness {result.brightness:.0f} < {thresholds.min_brightness:.0f}")
    elif result.saturated_share > thresholds.max_saturated_share and result.ink_level > thresholds.min_ink_level:
        add(FindingCode.image_overexposed, "照片过曝或有反光，请避开强光、关闭闪光灯后重新拍摄。",
            f"{result.saturated_share:.0%} of pixels saturated > {thresholds.max_saturated_share:.0%}, "
            f"darkest ink level {result.ink_level:.0f} > {thresholds.min_ink_level:.0f}")
    if result.sharpness < thresholds.min_sharpness and result.brightness >= thresholds.min_brightness:
        add(FindingCode.image_blurry, "照片模糊，请在光线充足处对准文件、保持手机稳定后重新拍摄。",
            f"sharpness {result.sharpness:.1f} < {thresholds.min_sharpness:.1f}")
    if 1 <= result.touching_sides <= 3:
        add(FindingCode.document_cropped, "文件没有拍全，请让整页文件完整出现在画面内后重新拍摄。",
            f"document touches {result.touching_sides} image border(s)")
    return result
