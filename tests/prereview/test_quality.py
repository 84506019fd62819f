import datetime as dt
import random

import cv2
import numpy as np
import pytest

from prereview.corpus import render
from prereview.corpus.degrade import photograph
from prereview.corpus.people import make_person
from prereview.quality import QualityThresholds, check_quality, deskew, estimate_skew
from prereview.report import FindingCode


@pytest.fixture(scope="module")
def card():
    return render.id_card_front(make_person(random.Random(11), application_date=dt.date(2026, 11, 24)))


def codes(image):
    return [finding.code for finding in check_quality(image, thresholds=QualityThresholds()).findings]


def test_ordinary_photo_and_flat_scan_pass(card):
    assert codes(photograph(card, random.Random(1))) == []
    assert codes(photograph(card, random.Random(2), scan=True)) == []


@pytest.mark.parametrize(
    ("defect", "code"),
    [
        ("blurry", FindingCode.image_blurry),
        ("dark", FindingCode.image_too_dark),
        ("overexposed", FindingCode.image_overexposed),
        ("cropped", FindingCode.document_cropped),
    ],
)
def test_each_photo_defect_is_caught_with_a_chinese_fix_it_message(card, defect, code):
    result = check_quality(photograph(card, random.Random(3), defect=defect), thresholds=QualityThresholds(),
                           file="a.jpg", page=1)
    assert code in [finding.code for finding in result.findings]
    assert result.blocking
    finding = next(f for f in result.findings if f.code == code)
    assert finding.file == "a.jpg" and finding.page == 1 and "请" in finding.message


def test_low_resolution():
    small = np.full((120, 200, 3), 230, np.uint8)
    cv2.putText(small, "ID 1234", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2)
    assert FindingCode.image_low_resolution in codes(small)


def test_skew_is_estimated_and_corrected():
    page = np.full((800, 1000, 3), 255, np.uint8)
    for y in range(100, 700, 60):
        cv2.line(page, (100, y), (900, y), (0, 0, 0), 3)
    centre = (500, 400)
    tilted = cv2.warpAffine(page, cv2.getRotationMatrix2D(centre, 4, 1.0), (1000, 800), borderValue=(255, 255, 255))
    gray = cv2.cvtColor(tilted, cv2.COLOR_BGR2GRAY)
    angle = estimate_skew(gray)
    assert 3.0 < angle < 5.0
    level = cv2.cvtColor(deskew(tilted, angle), cv2.COLOR_BGR2GRAY)
    assert abs(estimate_skew(level)) < 0.6


def test_sparse_clean_page_is_not_blurry_but_its_blurred_copy_is():
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (1000, 1400), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    for row in range(6):
        draw.text((100, 100 + 60 * row), "住房公积金提取申请表", font=render.font(30), fill=(20, 20, 20))
    page = cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR)
    assert codes(page) == []
    assert FindingCode.image_blurry in codes(cv2.GaussianBlur(page, (0, 0), 4))


def test_white_sparse_scan_is_not_overexposed():
    page = np.full((1400, 1000, 3), 255, np.uint8)
    cv2.putText(page, "Application form", (100, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (20, 20, 20), 4)
    assert FindingCode.image_overexposed not in codes(page)
