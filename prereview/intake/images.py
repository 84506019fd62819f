"""Decoding uploaded images with Pillow: size checks before any pixel is decoded, then BGR arrays."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

from prereview.intake import findings
from prereview.intake.detect import FileFormat
from prereview.pages import Page
from prereview.report import Finding
from prereview.settings import PrereviewSettings

logger = logging.getLogger(__name__)

_WHITE = (255, 255, 255)
# Progressive JPEGs use about 10 scans; each scan re-walks the whole image, so thousands of tiny
# scans make a small file take minutes to decode (a known libjpeg denial of service).
MAX_JPEG_SCANS = 100
_JPEG_SOS = b"\xff\xda"


@dataclass
class DecodedImages:
    """Pages and findings from one image file."""

    pages: list[Page] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def configure_pillow(settings: PrereviewSettings) -> None:
    """Make Pillow's own decompression-bomb guard follow the settings and raise instead of warning.

    This is process-wide (Pillow has one global limit); intake checks every frame itself as well,
    so the guard is a second line, not the only one.
    """
    Image.MAX_IMAGE_PIXELS = settings.max_pixels_per_page
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def size_problem(width: int, height: int, settings: PrereviewSettings) -> str | None:
    """Why a declared page size is refused, in English, or None when it is acceptable."""
    if width <= 0 or height <= 0:
        return f"declared size {width}x{height} is empty"
    if max(width, height) > settings.max_image_side_px:
        return f"declared size {width}x{height} px: side > max_image_side_px ({settings.max_image_side_px})"
    if width * height > settings.max_pixels_per_page:
        return (
            f"declared size {width}x{height} = {width * height} px > max_pixels_per_page "
            f"({settings.max_pixels_per_page})"
        )
    return None


def to_bgr(image: Image.Image) -> np.ndarray:
    """A loaded Pillow image of any mode as a contiguous BGR uint8 array; alpha is composited on white."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        grey = _deep_to_uint8(np.asarray(image), mode)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode in ("1", "L"):
        grey = np.asarray(image.convert("L"))
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        background.alpha_composite(rgba)
        rgb = background.convert("RGB")
    elif mode == "RGB":
        rgb = image
    else:
        rgb = image.convert("RGB")
    pixels = np.array(rgb)
    # Swapping two channels in place is about twice as fast as copying a reversed view.
    pixels[:, :, [0, 2]] = pixels[:, :, [2, 0]]
    return pixels


def _deep_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit integer and float greyscale scaled down to 8 bits (Pillow's convert would clip)."""
    if mode == "F":
        values = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if values.size and float(values.max()) <= 1.0 else 255.0
        return (np.clip(values, 0.0, top) * (255.0 / top)).astype(np.uint8)
    values = values.astype(np.int64, copy=False)
    if mode == "I" and values.size and int(values.max()) <= 255:
        return np.clip(values, 0, 255).astype(np.uint8)
    return (np.clip(values, 0, 65535) // 257).astype(np.uint8)


def _frames(image: Image.Image, fmt: FileFormat, max_pages: int) -> Iterator[int]:
    """Indices of the frames to decode: every TIFF page up to max_pages + 1 (to notice more), else the first."""
    yield 0
    if fmt is not FileFormat.tiff:
        return
    for index in range(1, max_pages + 1):
        try:
            image.seek(index)
        except EOFError:
            return
        yield index


def decode_image(*, name: str, data: bytes, fmt: FileFormat, settings: PrereviewSettings) -> DecodedImages:
    """Pages of one JPEG, PNG, TIFF, WebP or BMP file; anything undecodable becomes a finding."""
    configure_pillow(settings)
    result = DecodedImages()
    if fmt is FileFormat.jpeg and (scans := data.count(_JPEG_SOS)) > MAX_JPEG_SCANS:
        # 0xFF is byte-stuffed inside entropy-coded data, so every FF DA is a real start-of-scan marker.
        result.findings.append(
            findings.too_complex(file=name, detail=f"JPEG with {scans} scans > {MAX_JPEG_SCANS}: decoding-time bomb")
        )
        return result
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt.pillow_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        result.findings.append(findings.image_too_large(file=name, page=None, detail=f"Pillow: {exc}"))
        return result
    except Exception as exc:  # Pillow raises many types on hostile headers; each one means "cannot decode".
        result.findings.append(findings.broken_file(file=name, detail=f"{fmt.pillow_format} header: {_describe(exc)}"))
        return result

    with image:
        pixels_left = settings.max_pixels_per_file
        frames = _frames(image, fmt, settings.max_pages)
        while True:
            try:
                index = next(frames)
            except StopIteration:
                break
            except Exception as exc:
                result.findings.append(
                    findings.broken_file(file=name, page=len(result.pages) + 1, detail=f"TIFF frame: {_describe(exc)}")
                )
                break
            if index >= settings.max_pages:
                result.findings.append(findings.too_many_pages(file=name, total_pages=None, max_pages=settings.max_pages))
                break
            number = index + 1
            page_label = number if fmt is FileFormat.tiff else None
            width, height = image.size
            problem = size_problem(width, height, settings)
            if problem is None and width * height > pixels_left:
                problem = (
                    f"page {number}: {width}x{height} px would pass max_pixels_per_file "
                    f"({settings.max_pixels_per_file}) for the whole file"
                )
            if problem is not None:
                result.findings.append(findings.image_too_large(file=name, page=page_label, detail=problem))
                continue
            try:
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                pixels = to_bgr(image)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                result.findings.append(findings.image_too_large(file=name, page=page_label, detail=f"Pillow: {exc}"))
                continue
            except MemoryError:
                result.findings.append(
                    findings.image_too_large(file=name, page=page_label, detail="out of memory while decoding")
                )
                continue
            except Exception as exc:
                result.findings.append(
                    findings.broken_file(file=name, page=page_label, detail=f"decoding: {_describe(exc)}")
                )
                if fmt is FileFormat.tiff:
                    continue
                break
            pixels_left -= width * height
            result.pages.append(Page(file=name, number=number, source="image", image=pixels))
    return result


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
