"""Checks that need the service: cross-material consistency, seals, signatures and required fields."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from guides import CrossCheckField, DocumentType
from prereview.checks.document import line_for
from prereview.checks.identifiers import (
    check_id_number,
    check_uscc,
    mask_id_number,
    normalise_id_number,
    normalise_uscc,
)
from prereview.pages import TextLine
from prereview.report import Finding, FindingCode
from prereview.seals import name_similarity

MISMATCH_CODES = {
    CrossCheckField.name: FindingCode.name_mismatch,
    CrossCheckField.id_number: FindingCode.id_number_mismatch,
    CrossCheckField.uscc: FindingCode.uscc_mismatch,
    CrossCheckField.legal_representative: FindingCode.legal_representative_mismatch,
    CrossCheckField.address: FindingCode.address_mismatch,
}
FIELD_LABELS = {
    CrossCheckField.name: "姓名（名称）",
    CrossCheckField.id_number: "身份证号码",
    CrossCheckField.uscc: "统一社会信用代码",
    CrossCheckField.legal_representative: "法定代表人（经营者）",
    CrossCheckField.address: "地址",
}
_PUNCTUATION = re.compile(r"[\s\u3000·•.,，。:：]")
_ADDRESS_PUNCTUATION = re.compile(r"[\s\u3000·•.,，。:：;；、()（）\"'“”]")
_ADMIN_UNIT = re.compile(r"[\u4e00-\u9fa5]{1,6}?(?:特别行政区|自治区|自治州|自治县|省|市|区|县|旗)")
ADDRESS_NEAR_SIMILARITY = 0.75  # same house numbers and most characters: a different way of writing it
AddressMatch = Literal["same", "near", "different"]


def normalise_value(field: str, value: str) -> str:
    """Comparable form of a cross-checked value (spaces, punctuation and bracket widths ignored)."""
    if field == CrossCheckField.id_number:
        return normalise_id_number(value)
    if field == CrossCheckField.uscc:
        return normalise_uscc(value)
    return _PUNCTUATION.sub("", value).replace("（", "(").replace("）", ")").upper()


def normalise_address(value: str) -> str:
    """Comparable form of an address: half-width, no spaces or punctuation, 幢 as 栋, no 第 before numbers."""
    text = _ADDRESS_PUNCTUATION.sub("", unicodedata.normalize("NFKC", value)).upper()
    return re.sub(r"第(?=\d)", "", text.replace("幢", "栋").replace("－", "-").replace("—", "-"))


def split_address(normalised: str) -> tuple[list[str], str]:
    """The leading administrative units (省, 市, 区, 县 …) of a normalised address, and the rest."""
    units = []
    rest = normalised
    while (match := _ADMIN_UNIT.match(rest)) and match.end() < len(rest):
        units.append(match.group(0))
        rest = rest[match.end():]
    return units, rest


def compare_addresses(first: str, second: str) -> AddressMatch:
    """``same`` when two addresses name one place, ``near`` when they may, ``different`` when they do not.

    One may leave out leading units the other has (朝阳区人民路1号 = 北京市朝阳区人民路1号); different
    house, building or room numbers always make them different.
    """
    a, b = normalise_address(first), normalise_address(second)
    if a == b:
        return "same"
    units_a, rest_a = split_address(a)
    units_b, rest_b = split_address(b)
    if re.findall(r"\d+", rest_a) != re.findall(r"\d+", rest_b):
        return "different"
    if rest_a == rest_b and (set(units_a) <= set(units_b) or set(units_b) <= set(units_a)):
        return "same"
    similarity = min(name_similarity(rest_a, rest_b), name_similarity(rest_b, rest_a))
    return "near" if similarity >= ADDRESS_NEAR_SIMILARITY else "different"


def _valid_identifier(field: CrossCheckField, value: str) -> bool:
    """Whether an ID number or USCC passes its check digit (so a near miss is a real difference, not a misread)."""
    if field == CrossCheckField.id_number:
        return check_id_number(value).problem is None
    if field == CrossCheckField.uscc:
        return check_uscc(value) is None
    return False


@dataclass(frozen=True)
class PageValues:
    """A page's cross-checked values, with its OCR lines (for boxes and confidence)."""

    file: str
    page: int
    document_type: DocumentType
    values: dict[str, str]
    lines: list[TextLine]


def page_value(page: PageValues, field: CrossCheckField) -> str | None:
    """The page's value for a cross-checked field (a licence's or lease's "name" is the entity name)."""
    if field == CrossCheckField.name and page.document_type == DocumentType.business_licence:
        return page.values.get("entity_name")
    return page.values.get(field.value)


def cross_check(*, material: str, field: CrossCheckField, page: PageValues, references: list[str],
                min_confidence: float) -> Finding | None:
    """A mismatch (or low-confidence) finding when the page's value agrees with none of the references.

    Addresses are compared with :func:`compare_addresses`; a near match is an ``address_mismatch``
    warning for the clerk, never a blocking finding.
    """
    value = page_value(page, field)
    if value is None or not references:
        return None
    line = line_for(page.lines, value)
    read_unsurely = line is not None and line.confidence < min_confidence
    if field == CrossCheckField.address:
        return _cross_check_address(material=material, page=page, value=value, references=references,
                                    line=line, read_unsurely=read_unsurely)
    mine = normalise_value(field.value, value)
    wanted = [normalise_value(field.value, reference) for reference in references]
    if mine in wanted:
        return None
    similarity = max(name_similarity(reference, mine) for reference in wanted)
    shown = mask_id_number(mine) if field == CrossCheckField.id_number else mine
    shown_refs = [mask_id_number(r) if field == CrossCheckField.id_number else r for r in wanted]
    # A near miss is usually a misread, unless both sides pass their check digit.
    misread = len(mine) >= 6 and similarity >= 0.8 and not (
        _valid_identifier(field, mine) and all(_valid_identifier(field, r) for r in wanted))
    if read_unsurely or misread:
        return _unsure(material, field, page, line, f"{field.value}: read {shown!r}, expected one of {shown_refs}")
    return Finding(code=MISMATCH_CODES[field], severity="blocking", material=material, file=page.file, page=page.page,
                   bbox=list(line.bbox) if line else None,
                   message=f"{FIELD_LABELS[field]}与申请表或其他材料不一致，请核对后重新提交。",
                   detail=f"{field.value}: {shown!r} here, {shown_refs} elsewhere",
                   confidence=line.confidence if line else 1.0)


def _unsure(material: str, field: CrossCheckField, page: PageValues, line: TextLine | None, detail: str) -> Finding:
    return Finding(code=FindingCode.low_confidence, severity="warning", material=material, file=page.file,
                   page=page.page, bbox=list(line.bbox) if line else None,
                   message=f"{FIELD_LABELS[field]}识别不清，需人工核对是否与其他材料一致。",
                   detail=detail, confidence=line.confidence if line else 0.5)


def _cross_check_address(*, material: str, page: PageValues, value: str, references: list[str],
                         line: TextLine | None, read_unsurely: bool) -> Finding | None:
    matches = [compare_addresses(value, reference) for reference in references]
    if "same" in matches:
        return None
    detail = f"address: {value!r} here, {references} elsewhere"
    if "near" in matches:
        return Finding(code=FindingCode.address_mismatch, severity="warning", material=material, file=page.file,
                       page=page.page, bbox=list(line.bbox) if line else None,
                       message="地址写法与申请表或其他材料不完全一致，工作人员将人工核对。",
                       detail=f"{detail} (written differently)", confidence=line.confidence if line else 1.0)
    if read_unsurely:
        return _unsure(material, CrossCheckField.address, page, line, detail)
    return Finding(code=FindingCode.address_mismatch, severity="blocking", material=material, file=page.file,
                   page=page.page, bbox=list(line.bbox) if line else None,
                   message="地址与申请表或其他材料不一致（门牌号、楼栋或房号不同），请核对后重新提交。",
                   detail=detail, confidence=line.confidence if line else 1.0)
