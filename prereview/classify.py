"""Page classification from OCR text (weighted keywords) and layout, and matching pages to a service's materials."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guides import DocumentType
from prereview.pages import TextLine

# Keyword weights per document type; a page's score is the sum of the weights of the keywords it contains.
KEYWORDS: dict[DocumentType, dict[str, float]] = {
    DocumentType.id_card: {"公民身份号码": 4, "姓名": 1, "性别": 1, "民族": 1, "出生": 1, "住址": 1,
                           "居民身份证": 3, "签发机关": 3, "有效期限": 2},
    DocumentType.business_licence: {"营业执照": 5, "统一社会信用代码": 2, "注册资本": 1.5, "成立日期": 1.5,
                                    "登记机关": 1.5, "法定代表人": 0.5, "经营者": 0.5, "住所": 0.5, "类型": 0.5},
    DocumentType.household_register: {"居民户口簿": 5, "常住人口登记卡": 4, "户主": 2, "户号": 2, "与户主关系": 2},
    DocumentType.marriage_certificate: {"结婚证": 5, "结婚证字号": 3, "持证人": 2, "登记日期": 1},
    DocumentType.application_form: {"申请书": 5, "申请表": 5, "申请人": 1, "承诺": 1.5, "签名": 0.5},
    DocumentType.lease_contract: {"租赁合同": 5, "出租方": 2, "承租方": 2, "租金": 1, "租赁期限": 1},
    DocumentType.power_of_attorney: {"委托书": 5, "委托人": 2, "受托人": 2, "委托事项": 1.5},
    DocumentType.property_certificate: {"不动产权证书": 5, "房屋所有权证": 5, "权利人": 2, "共有情况": 2},
}
ID_NUMBER_PATTERN = re.compile(r"\d{17}[\dXx]")
MIN_SCORE = 3.0


@dataclass(frozen=True)
class Classification:
    """What a page is, with the margin over the runner-up as confidence; ``side`` for ID cards."""

    document_type: DocumentType
    score: float
    confidence: float
    side: str | None = None


def page_text(lines: list[TextLine]) -> str:
    """All OCR text of a page joined, whitespace removed."""
    return re.sub(r"\s", "", "".join(line.text for line in lines))


def classify_page(lines: list[TextLine], size: tuple[int, int]) -> Classification:
    """Classify one page; ``other`` when no document type scores at least MIN_SCORE."""
    text = page_text(lines)
    scores = {kind: sum(weight for word, weight in words.items() if word in text) for kind, words in KEYWORDS.items()}
    width, height = size
    if ID_NUMBER_PATTERN.search(text) and scores[DocumentType.id_card] >= 2:
        scores[DocumentType.id_card] += 1
    if height and 1.35 <= width / height <= 1.85 and scores[DocumentType.id_card] >= 2:
        scores[DocumentType.id_card] += 1
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_SCORE:
        return Classification(DocumentType.other, top, 1.0 - top / MIN_SCORE if top else 1.0)
    confidence = (top - second) / top
    side = None
    if best == DocumentType.id_card:
        side = "back" if ("签发机关" in text or "有效期限" in text) and "公民身份号码" not in text else "front"
    return Classification(best, top, confidence, side)
