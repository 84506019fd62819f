import datetime as dt

import pytest

from guides import CrossCheckField, DocumentType
from prereview.checks.document import check_validity
from prereview.checks.materials import PageValues, compare_addresses, cross_check, normalise_address
from prereview.pages import TextLine
from prereview.report import FindingCode

TODAY = dt.date(2026, 11, 24)
USCC = "91350100M000100Y43"
OTHER_VALID_USCC = "91350100M000200Y4T"


def _licence_term(text: str, *, day: dt.date = TODAY):
    lines = [TextLine("营业期限", (10, 10, 200, 40), 0.99), TextLine(text, (220, 10, 900, 40), 0.99)]
    return check_validity(document_type=DocumentType.business_licence, fields={"营业期限": text}, lines=lines,
                          file="licence.jpg", page=1, application_date=day)


@pytest.mark.parametrize("term", ["长期", "2020.01.01-2040.01.01", "2020年1月1日至2040年1月1日", "2020.01.01-长期"])
def test_licence_term_covering_the_application_date_passes(term):
    assert _licence_term(term) == []


@pytest.mark.parametrize(
    ("term", "day"),
    [
        ("2006.01.01-2026.01.01", TODAY),
        ("2006年1月1日至2026年11月23日", TODAY),
        ("2027.01.01-长期", TODAY),
        ("2020.01.01-2040.01.01", dt.date(2040, 1, 2)),
    ],
)
def test_licence_term_not_covering_the_application_date_is_expired(term, day):
    findings = _licence_term(term, day=day)
    expected = [(FindingCode.document_expired, "blocking", "licence.jpg")]
    assert [(f.code, f.severity, f.file) for f in findings] == expected
    assert "营业期限" in findings[0].message and findings[0].bbox == [220, 10, 900, 40]


def test_licence_validity_is_not_read_from_an_id_card_label():
    assert check_validity(document_type=DocumentType.id_card, fields={"营业期限": "2001.01.01-2002.01.01"}, lines=[],
                          file="x.jpg", page=1, application_date=TODAY) == []


def _page(kind: DocumentType, field: str, value: str, confidence: float = 0.99) -> PageValues:
    return PageValues("p.jpg", 1, kind, {field: value}, [TextLine(value, (0, 0, 100, 20), confidence)])


def test_uscc_on_the_form_that_differs_from_the_typed_one_is_a_mismatch():
    page = _page(DocumentType.application_form, "uscc", OTHER_VALID_USCC)
    finding = cross_check(material="application_form", field=CrossCheckField.uscc, page=page, references=[USCC],
                          min_confidence=0.85)
    assert finding.code == FindingCode.uscc_mismatch and finding.severity == "blocking"
    assert cross_check(material="application_form", field=CrossCheckField.uscc, references=[USCC],
                       page=_page(DocumentType.application_form, "uscc", USCC.lower()), min_confidence=0.85) is None


def test_uscc_near_miss_that_fails_its_check_is_left_to_the_clerk():
    misread = USCC[:-1] + "4"
    finding = cross_check(material="application_form", field=CrossCheckField.uscc, references=[USCC],
                          page=_page(DocumentType.application_form, "uscc", misread), min_confidence=0.85)
    assert finding.code == FindingCode.low_confidence and finding.severity == "warning"


def test_legal_representative_on_the_licence_must_match_the_form():
    page = _page(DocumentType.business_licence, "legal_representative", "李四")
    finding = cross_check(material="business_licence", field=CrossCheckField.legal_representative, page=page,
                          references=["张三"], min_confidence=0.85)
    assert finding.code == FindingCode.legal_representative_mismatch and finding.severity == "blocking"
    assert "法定代表人" in finding.message
    same = _page(DocumentType.business_licence, "legal_representative", "张 三")
    assert cross_check(material="business_licence", field=CrossCheckField.legal_representative, page=same,
                       references=["张三"], min_confidence=0.85) is None
    unsure = _page(DocumentType.business_licence, "legal_representative", "李四", confidence=0.5)
    assert cross_check(material="business_licence", field=CrossCheckField.legal_representative, page=unsure,
                       references=["张三"], min_confidence=0.85).code == FindingCode.low_confidence


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("北京市朝阳区人民路1号2栋301室", "北京市朝阳区人民路1号2栋301室", "same"),
        ("北京市朝阳区人民路1号2栋301室", "朝阳区人民路１号２幢３０１室", "same"),
        ("广东省广州市天河区中山路12号3栋1201室", "广州市天河区 中山路 12 号 3 栋 1201 室", "same"),
        ("浙江省杭州市西湖区文化路8号", "浙江省杭州市西湖区文化路第8号", "same"),
        ("北京市朝阳区人民路1号2栋301室", "北京市朝阳区人民路1号2栋302室", "different"),
        ("北京市朝阳区人民路1号", "北京市朝阳区解放大道1号", "different"),
        ("北京市朝阳区新华街1号", "上海市浦东新区新华街1号", "near"),
        ("北京市朝阳区人民路1号", "北京市朝阳区人明路1号", "near"),
    ],
)
def test_address_comparison(first, second, expected):
    assert compare_addresses(first, second) == expected
    assert compare_addresses(second, first) == expected


def test_address_normalisation_is_width_and_space_blind():
    assert normalise_address("（１２３）号 ３ 幢") == "123号3栋"


@pytest.mark.parametrize(
    ("lease_address", "code", "severity"),
    [
        ("朝阳区人民路1号2幢301室", None, None),
        ("北京市朝阳区人民路9号2栋301室", FindingCode.address_mismatch, "blocking"),
        ("北京市朝阳区人明路1号2栋301室", FindingCode.address_mismatch, "warning"),
    ],
)
def test_lease_address_against_the_typed_form(lease_address, code, severity):
    page = _page(DocumentType.lease_contract, "address", lease_address)
    finding = cross_check(material="premises_proof", field=CrossCheckField.address, page=page,
                          references=["北京市朝阳区人民路1号2栋301室"], min_confidence=0.85)
    if code is None:
        assert finding is None
    else:
        assert (finding.code, finding.severity) == (code, severity)


def test_unsure_address_reading_is_low_confidence_not_a_mismatch():
    page = _page(DocumentType.lease_contract, "address", "北京市朝阳区人民路9号2栋301室", confidence=0.5)
    finding = cross_check(material="premises_proof", field=CrossCheckField.address, page=page,
                          references=["北京市朝阳区人民路1号2栋301室"], min_confidence=0.85)
    assert finding.code == FindingCode.low_confidence
