import datetime as dt

import cv2
import numpy as np
import pytest

from guides import load_demo_catalog
from prereview.corpus import generate_application
from prereview.ocr import FakeOcrEngine
from prereview.pages import TextLine
from prereview.pipeline import Pipeline, verdict_of
from prereview.report import Finding, FindingCode, MaterialResult
from prereview.settings import PrereviewSettings

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def catalog():
    return {service.code: service for service in load_demo_catalog()}


def _page(width: int) -> bytes:
    """A sharp, well-lit synthetic page whose width identifies it to the fake OCR engine."""
    image = np.full((900, width, 3), 235, np.uint8)
    for y in range(80, 860, 45):
        cv2.putText(image, "text line for the quality gate", (40, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def _lines(*texts: str, confidence: float = 0.99) -> list[TextLine]:
    return [TextLine(text, (10, 40 * i, 600, 40 * i + 30), confidence) for i, text in enumerate(texts)]


PAGES = {
    1201: _lines("姓名张三", "性别男民族汉", "出生1990年1月2日", "住址北京市朝阳区人民路1号", "公民身份号码",
                 "110105199001020016"),
    1202: _lines("中华人民共和国", "居民身份证", "签发机关", "北京市公安局朝阳分局", "有效期限", "2018.03.01-2038.03.01"),
    1203: _lines("房屋租赁合同", "出租方（甲方）：王五", "承租方（乙方）：张三", "月租金：人民币2000元"),
    1204: _lines("住房公积金提取申请表", "申请人姓名：张三", "身份证号码：110105199001020016", "本人承诺"),
    1205: _lines("今天天气很好", "菜单", "红烧肉"),
}


@pytest.fixture(scope="module")
def fake_pipeline():
    engine = FakeOcrEngine(lambda image: PAGES.get(image.shape[1], []))
    return Pipeline.create(settings=PrereviewSettings(), ocr=engine)


def test_material_matching_missing_and_wrong_document_with_fake_ocr(fake_pipeline, catalog):
    files = [("front.png", _page(1201)), ("back.png", _page(1202)), ("menu.png", _page(1205)),
             ("form.png", _page(1204))]
    progress = []
    report = fake_pipeline.check(service=catalog["zfgjj-tq-zf"], files=files, form={"name": "张三"},
                                 application_date=TODAY, on_page=progress.append)
    status = {m.material: m.status for m in report.materials}
    assert status["id_card"] == "ok" and status["lease_contract"] == "missing"
    codes = {(f.code, f.file) for f in report.findings}
    assert (FindingCode.material_missing, None) in codes
    assert (FindingCode.wrong_document, "menu.png") in codes
    assert report.verdict == "needs_fix"
    assert {p.stage for p in progress} >= {"quality", "ocr"} and progress[-1].total == 4
    assert set(report.timings_ms) >= {"intake", "quality", "ocr", "checks", "total"}


def test_name_on_lease_must_match_the_form(fake_pipeline, catalog):
    files = [("front.png", _page(1201)), ("back.png", _page(1202)), ("lease.png", _page(1203)),
             ("form.png", _page(1204))]
    report = fake_pipeline.check(service=catalog["zfgjj-tq-zf"], files=files, form={"name": "张珊"},
                                 application_date=TODAY)
    mismatched = sorted(f.file for f in report.findings if f.code == FindingCode.name_mismatch)
    assert mismatched == ["form.png", "front.png", "lease.png"]
    matching = fake_pipeline.check(service=catalog["zfgjj-tq-zf"], files=files, form={"name": "张三"},
                                   application_date=TODAY)
    # The fake pages carry no signature strokes next to a 签名 label, so only that is left to review.
    assert [f.code for f in matching.findings if f.severity == "blocking"] == []
    assert matching.verdict == "needs_review"


def test_expiry_is_judged_on_the_application_date(fake_pipeline):
    files = [("back.png", _page(1202))]
    assert fake_pipeline.inspect(files=files, application_date=dt.date(2030, 1, 1)).verdict == "pass"
    late = fake_pipeline.inspect(files=files, application_date=dt.date(2038, 3, 2))
    assert [f.code for f in late.findings] == [FindingCode.document_expired]
    assert late.materials is None and "materials" not in late.to_json_dict()


def test_unreadable_upload_stops_early(fake_pipeline):
    report = fake_pipeline.inspect(files=[("x.exe", b"MZ\x90\x00not a document")], application_date=TODAY)
    assert [f.code for f in report.findings] == [FindingCode.unsupported_file]
    assert report.verdict == "needs_fix" and "ocr" not in report.timings_ms


def test_verdict_rules():
    low = Finding(code=FindingCode.low_confidence, severity="warning", message="需人工核对")
    blocking = Finding(code=FindingCode.seal_missing, severity="blocking", message="未盖章")
    info = Finding(code=FindingCode.document_rotated, severity="info", message="已旋转")
    assert verdict_of([info], []) == "pass"
    assert verdict_of([low, info], []) == "needs_review"
    assert verdict_of([], [MaterialResult(material="a", status="uncertain")]) == "needs_review"
    assert verdict_of([low, blocking], []) == "needs_fix"


@pytest.fixture(scope="module")
def real_pipeline(rapid_ocr):
    return Pipeline.create(settings=PrereviewSettings(), ocr=rapid_ocr)


def test_clean_synthetic_application_passes_with_real_ocr(real_pipeline, catalog):
    files, form, facts, truth = generate_application("zfgjj-tq-zf", 21)
    analysis = real_pipeline.analyse(service=catalog["zfgjj-tq-zf"], files=files, form=form, facts=facts,
                                     application_date=TODAY)
    assert analysis.report.verdict == "pass", analysis.report.findings
    assert all(m.status == "ok" for m in analysis.report.materials)
    pages = {p["file"]: p for p in analysis.report.fields["pages"]}
    assert pages["id_front.jpg"]["fields"]["公民身份号码"] == form["id_number"]
    assert set(analysis.page_images) == {(name, 1) for name, _ in files}
    assert analysis.page_images[("form.jpg", 1)][:2] == b"\xff\xd8"


def test_defective_synthetic_application_with_real_ocr(real_pipeline, catalog):
    files, form, facts, truth = generate_application("scjg-spjy-xk", 22, ["seal_missing"])
    report = real_pipeline.check(service=catalog["scjg-spjy-xk"], files=files, form=form, facts=facts,
                                 application_date=TODAY)
    assert report.verdict == "needs_fix"
    assert {(f.code.value, f.file) for f in report.findings if f.severity == "blocking"} == {
        (item["code"], item["file"]) for item in truth["expected_findings"]}


def test_text_layer_pdf_is_read_without_ocr(catalog):
    from prereview.corpus import text_pdf

    engine = FakeOcrEngine([])
    pipeline = Pipeline.create(settings=PrereviewSettings(), ocr=engine)
    pdf = text_pdf(["住房公积金提取申请表", "申请人姓名：张三", "身份证号码：110105199001020016", "本人承诺"])
    report = pipeline.inspect(files=[("form.pdf", pdf)], application_date=TODAY)
    page = report.fields["pages"][0]
    assert (page["source"], page["document_type"]) == ("pdf_text", "application_form")
    assert page["fields"]["申请人姓名"] == "张三"
    assert engine.calls == 0 and report.verdict == "pass"


def _without_signatures(service):
    """The service with its signature checks off, so blank fake pages leave only the checks under test."""
    copy = service.model_copy(deep=True)
    for material in copy.materials:
        material.checks.signature_required = False
    return copy


ADDRESS_PAGES = {
    **PAGES,
    1206: _lines("个体工商户登记（备案）申请书", "经营者姓名：张三", "身份证号码：110105199001020016",
                 "经营场所：北京市朝阳区人民路1号2栋301室", "经营范围：日用百货零售"),
    1207: _lines("房屋租赁合同", "出租方（甲方）：王五", "承租方（乙方）：张三", "房屋地址：朝阳区人民路1号2幢301室"),
    1208: _lines("房屋租赁合同", "出租方（甲方）：王五", "承租方（乙方）：张三", "房屋地址：北京市朝阳区人民路9号2栋301室"),
    1209: _lines("房屋租赁合同", "出租方（甲方）：王五", "承租方（乙方）：张三", "房屋地址：上海市浦东新区人民路1号2栋301室"),
}


@pytest.mark.parametrize(
    ("lease_width", "verdict", "status", "address_findings"),
    [
        (1207, "pass", "ok", []),
        (1208, "needs_fix", "defective", [("address_mismatch", "blocking")]),
        (1209, "needs_review", "uncertain", [("address_mismatch", "warning")]),
    ],
)
def test_premises_address_is_checked_against_the_typed_form(catalog, lease_width, verdict, status, address_findings):
    pipeline = Pipeline.create(settings=PrereviewSettings(),
                               ocr=FakeOcrEngine(lambda image: ADDRESS_PAGES.get(image.shape[1], [])))
    files = [("front.png", _page(1201)), ("back.png", _page(1202)), ("form.png", _page(1206)),
             ("lease.png", _page(lease_width))]
    form = {"name": "张三", "id_number": "110105199001020016", "address": "北京市朝阳区人民路1号2栋301室"}
    report = pipeline.check(service=_without_signatures(catalog["scjg-gtgsh-sl"]), files=files, form=form,
                            application_date=TODAY)
    assert [(f.code.value, f.severity) for f in report.findings if f.code == FindingCode.address_mismatch] == \
        address_findings
    assert {m.material: m.status for m in report.materials}["premises_proof"] == status
    assert report.verdict == verdict, report.findings
