"""Checks on one page's own fields: resident ID number, printed birth date, USCC, validity period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from guides import DocumentType
from prereview.checks.identifiers import check_id_number, check_uscc, mask_id_number, normalise_uscc
from prereview.extract.dates import parse_date, parse_validity
from prereview.pages import TextLine
from prereview.report import Finding, FindingCode


def line_for(lines: list[TextLine], value: str) -> TextLine | None:
    """The OCR line that carries ``value`` (whitespace ignored), for its box and confidence."""
    needle = "".join(value.split())
    for line in lines:
        if needle and needle in "".join(line.text.split()).upper():
            return line
    tail = needle[-6:]
    return next((line for line in lines if tail and tail in "".join(line.text.split()).upper()), None)


def _finding(code: FindingCode, *, file: str, page: int, line: TextLine | None, message: str, detail: str,
             severity: str = "blocking") -> Finding:
    return Finding(code=code, severity=severity, file=file, page=page, bbox=list(line.bbox) if line else None,
                   message=message, detail=detail, confidence=line.confidence if line else 1.0)


def check_page_fields(*, document_type: DocumentType, fields: dict[str, Any], canonical: dict[str, str],
                      lines: list[TextLine], file: str, page: int, min_confidence: float) -> list[Finding]:
    """Identifier and date findings for one page; unsure readings become ``low_confidence``."""
    findings: list[Finding] = []
    id_number = canonical.get("id_number")
    if id_number:
        line = line_for(lines, id_number)
        result = check_id_number(id_number)
        unsure = line is not None and line.confidence < min_confidence
        if result.problem and unsure:
            findings.append(_finding(FindingCode.low_confidence, file=file, page=page, line=line, severity="warning",
                                     message="身份证号码识别不清，需人工核对。",
                                     detail=f"id number {mask_id_number(result.number)} read with low confidence"))
        elif result.problem:
            findings.append(_finding(FindingCode.id_number_invalid, file=file, page=page, line=line,
                                     message="身份证号码有误（校验不通过），请核对后重新提交。",
                                     detail=f"{mask_id_number(result.number)}: {result.problem}"))
        printed = parse_date(str(fields.get("出生", ""))) if document_type == DocumentType.id_card else None
        if printed and result.birth_date and printed != result.birth_date:
            findings.append(_finding(FindingCode.id_birthdate_mismatch, file=file, page=page,
                                     line=line_for(lines, str(fields["出生"])),
                                     message="身份证上的出生日期与身份证号码不一致，请核对证件。",
                                     detail=f"printed {printed.isoformat()}, number encodes {result.birth_date.isoformat()}"))
    uscc = canonical.get("uscc")
    if uscc:
        problem = check_uscc(uscc)
        line = line_for(lines, normalise_uscc(uscc))
        if problem and line is not None and line.confidence < min_confidence:
            findings.append(_finding(FindingCode.low_confidence, file=file, page=page, line=line, severity="warning",
                                     message="统一社会信用代码识别不清，需人工核对。",
                                     detail=f"USCC read with low confidence: {problem}"))
        elif problem:
            findings.append(_finding(FindingCode.uscc_invalid, file=file, page=page, line=line,
                                     message="统一社会信用代码有误（校验不通过），请核对营业执照。",
                                     detail=f"{normalise_uscc(uscc)}: {problem}"))
    return findings


VALIDITY_LABELS = {DocumentType.id_card: "有效期限", DocumentType.business_licence: "营业期限"}
_EXPIRED_MESSAGES = {
    DocumentType.id_card: "证件已过有效期（或尚未生效），请使用有效证件。",
    DocumentType.business_licence: "营业执照的营业期限已届满（或尚未开始），请提交在营业期限内的营业执照。",
}


def check_validity(*, document_type: DocumentType, fields: dict[str, Any], lines: list[TextLine], file: str,
                   page: int, application_date: dt.date) -> list[Finding]:
    """``document_expired`` when an ID card's 有效期限 or a licence's 营业期限 does not cover the application date."""
    label = VALIDITY_LABELS.get(document_type)
    text = fields.get(label) if label else None
    if not label or not text:
        return []
    validity = parse_validity(str(text))
    if validity is None or validity.covers(application_date):
        return []
    start = validity.start.isoformat() if validity.start else "?"
    end = validity.end.isoformat() if validity.end else "长期"
    line = next((line for line in lines if parse_validity(line.text) == validity), None) or line_for(lines, label)
    return [_finding(FindingCode.document_expired, file=file, page=page, line=line,
                     message=_EXPIRED_MESSAGES[document_type],
                     detail=f"{label} {start} to {end}; application date {application_date.isoformat()}")]
