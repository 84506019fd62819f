"""Image intake: size checks before decoding, EXIF orientation, every mode normalised to BGR uint8."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from prereview.intake import intake_file
from prereview.report import FindingCode
from prereview.settings import PrereviewSettings
from tests.prereview.hostile.generate import document_image, encode, exif_rotated_jpeg, png_declared, tiff_frames


def _only_page(data: bytes, settings: PrereviewSettings) -> np.ndarray:
    result = intake_file(name="f", data=data, settings=settings)
    assert result.findings == []
    (page,) = result.pages
    assert page.source == "image" and page.number == 1
    assert page.image is not None and page.image.dtype == np.uint8 and page.image.ndim == 3
    assert page.image.shape[2] == 3 and page.image.flags.c_contiguous
    return page.image


def test_rgb_comes_out_in_bgr_order(settings: PrereviewSettings) -> None:
    image = _only_page(encode(Image.new("RGB", (4, 3), (255, 0, 0)), "PNG"), settings)
    assert image.shape == (3, 4, 3)
    assert image[0, 0].tolist() == [0, 0, 255]


def test_exif_orientation_is_applied(settings: PrereviewSettings) -> None:
    stored = document_image(random.Random(2), 300, 200)
    image = _only_page(exif_rotated_jpeg(stored), settings)
    assert image.shape[:2] == (300, 200)
    # orientation 6 shows the stored image turned 90° clockwise: its first row becomes the last column
    expected = np.asarray(stored.transpose(Image.Transpose.ROTATE_270))[:, :, ::-1]
    assert np.abs(image.astype(int) - expected.astype(int)).mean() < 8


@pytest.mark.parametrize(
    ("image", "expected_bgr"),
    [
        (Image.new("RGBA", (2, 2), (0, 0, 255, 0)), [255, 255, 255]),
        (Image.new("RGBA", (2, 2), (0, 0, 255, 255)), [255, 0, 0]),
        (Image.new("LA", (2, 2), (0, 0)), [255, 255, 255]),
        (Image.new("L", (2, 2), 77), [77, 77, 77]),
        (Image.new("1", (2, 2), 1), [255, 255, 255]),
        (Image.new("P", (2, 2), 0), [0, 0, 0]),
    ],
    ids=["transparent", "opaque-alpha", "la", "grey", "bilevel", "palette"],
)
def test_modes_become_bgr_and_alpha_lands_on_white(
    image: Image.Image, expected_bgr: list[int], settings: PrereviewSettings
) -> None:
    assert _only_page(encode(image, "PNG"), settings)[0, 0].tolist() == expected_bgr


def test_sixteen_bit_grey_is_scaled_not_clipped(settings: PrereviewSettings) -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    image = _only_page(encode(Image.fromarray(values), "PNG"), settings)
    assert image[0, :, 0].tolist() == [0, 128, 255]


def test_cmyk_jpeg_becomes_bgr(settings: PrereviewSettings) -> None:
    image = _only_page(encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=95), settings)
    blue, green, red = image[4, 4].tolist()
    assert red > 200 and green < 60 and blue < 60


def test_tiff_pages_are_numbered(settings: PrereviewSettings) -> None:
    result = intake_file(name="scan.tif", data=tiff_frames(3, side=16), settings=settings)
    assert [page.number for page in result.pages] == [1, 2, 3]
    assert result.findings == []
    assert result.pages[1].image is not None and result.pages[1].image[0, 0, 0] == 254


def test_tiff_beyond_max_pages_keeps_the_first_pages(settings: PrereviewSettings) -> None:
    result = intake_file(name="scan.tif", data=tiff_frames(40), settings=settings.model_copy(update={"max_pages": 4}))
    assert [page.number for page in result.pages] == [1, 2, 3, 4]
    (finding,) = result.findings
    assert finding.code is FindingCode.too_many_pages
    assert "4 页" in finding.message


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (20_000, 20_000), (12_001, 10), (5_000, 4_001)])
def test_declared_sizes_past_the_limits_are_refused_before_decoding(
    width: int, height: int, settings: PrereviewSettings
) -> None:
    result = intake_file(name="bomb.png", data=png_declared(width, height), settings=settings)
    assert result.pages == []
    (finding,) = result.findings
    assert finding.code is FindingCode.image_too_large
    assert "尺寸过大" in finding.message


def test_pixels_per_file_bounds_a_multi_page_tiff(settings: PrereviewSettings) -> None:
    frames = [Image.new("L", (100, 100), 255)] * 3
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    result = intake_file(name="t.tif", data=data, settings=settings.model_copy(update={"max_pixels_per_file": 25_000}))
    assert [page.number for page in result.pages] == [1, 2]
    assert [(f.code, f.page) for f in result.findings] == [(FindingCode.image_too_large, 3)]


def test_truncated_image_is_a_broken_file(settings: PrereviewSettings) -> None:
    data = encode(document_image(random.Random(3), 200, 200), "JPEG")
    result = intake_file(name="cut.jpg", data=data[: len(data) // 2], settings=settings)
    assert result.pages == []
    assert [f.code for f in result.findings] == [FindingCode.broken_file]


def test_real_document_photos_all_decode(shared_data: Path, settings: PrereviewSettings) -> None:
    paths = sorted((shared_data / "zh_document_images" / "images").glob("*"))
    assert len(paths) >= 20
    for path in paths:
        data = path.read_bytes()
        result = intake_file(name=path.name, data=data, settings=settings)
        assert result.findings == [], (path.name, result.findings)
        (page,) = result.pages
        with Image.open(path) as original:
            width, height = original.size
            turned = original.getexif().get(0x0112, 1) in (5, 6, 7, 8)
        assert page.size == ((height, width) if turned else (width, height))
