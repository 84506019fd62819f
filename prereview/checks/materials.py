"""Checks that need the service: cross-material consistency, seals, signatures and required fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guides import CrossCheckField, DocumentType
from prereview.checks.document import line_for
from prereview.checks.identifiers import mask_id_number, normalise_id_number, normalise_uscc
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


def normalise_value(field: str, value: str) -> str:
    """Comparable form of a cross-checked value (spaces, punctuation and bracket widths ignored)."""
    if field == CrossCheckField.id_number:
        return normalise_id_number(value)
    if field == CrossCheckField.uscc:
        return normalise_uscc(value)
    return _PUNCTUATION.sub("", value).replace("（", "(").replace("）", ")").upper()


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
    """A mismatch (or low-confidence) finding when the page's value agrees with none of the references."""
    value = page_value(page, field)
    if value is None or not references:
        return None
    mine = normalise_value(field.value, value)
    wanted = [normalise_value(field.value, reference) for reference in references]
    if mine in wanted:
        return None
    line = line_for(page.lines, value)
    similarity = max(name_similarity(reference, mine) for reference in wanted)
    shown = mask_id_number(mine) if field == CrossCheckField.id_number else mine
    shown_refs = [mask_id_number(r) if field == CrossCheckField.id_number else r for r in wanted]
    unsure = (line is not None and line.confidence < min_confidence) or (len(mine) >= 6 and similarity >= 0.8)
    if unsure:
        return Finding(code=FindingCode.low_confidence, severity="warning", material=material, file=page.file,
                       page=page.page, bbox=list(line.bbox) if line else None,
                       message=f"{FIELD_LABELS[field]}识别不清，需人工核对是否与其他材料一致。",
                       detail=f"{field.value}: read {shown!r}, expected one of {shown_refs}",
                       confidence=line.confidence if line else 0.5)
    return Finding(code=MISMATCH_CODES[field], severity="blocking", material=material, file=page.file, page=page.page,
                   bbox=list(line.bbox) if line else None,
                   message=f"{FIELD_LABELS[field]}与申请表或其他材料不一致，请核对后重新提交。",
                   detail=f"{field.value}: {shown!r} here, {shown_refs} elsewhere",
                   confidence=line.confidence if line else 1.0)
