import datetime as dt

import pytest

from prereview.pipeline import Pipeline
from prereview.report import FindingCode
from prereview.settings import PrereviewSettings


@pytest.fixture(scope="module")
def pipeline(rapid_ocr):
    return Pipeline.create(settings=PrereviewSettings(), ocr=rapid_ocr)


def test_id_specimen_has_wrong_check_digit_and_birth_date(pipeline, shared_data):
    path = shared_data / "zh_document_images" / "images" / "chineseocr_idcard-demo.jpeg"
    report = pipeline.inspect(files=[(path.name, path.read_bytes())], application_date=dt.date(2026, 11, 24))
    codes = {finding.code for finding in report.findings}
    assert {FindingCode.id_number_invalid, FindingCode.id_birthdate_mismatch} <= codes
    assert FindingCode.document_rotated in codes
    page = report.fields["pages"][0]
    assert page["document_type"] == "id_card" and page["rotation_deg"] == 180
    assert page["fields"]["公民身份号码"] == "430512198908131367"
    assert page["fields"]["出生"] == "2013年05月06日"


@pytest.mark.slow
def test_every_real_image_is_inspected_without_crash(pipeline, shared_data):
    images = sorted((shared_data / "zh_document_images" / "images").iterdir())
    assert len(images) == 21
    for path in images:
        report = pipeline.inspect(files=[(path.name, path.read_bytes())], application_date=dt.date(2026, 11, 24))
        assert report.verdict in ("pass", "needs_fix", "needs_review")
        assert len(report.fields["pages"]) == 1, path.name
