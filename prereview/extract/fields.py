"""Field extraction from OCR lines: ID card, business licence, labelled forms, lease, power of attorney."""

from __future__ import annotations

import re
from typing import Any

from guides import DocumentType
from prereview.checks.identifiers import normalise_id_number, normalise_uscc
from prereview.extract.dates import parse_date, parse_validity
from prereview.pages import TextLine

_SPACE = re.compile(r"[\s\u3000]")
_LABELLED = re.compile(r"^([\u4e00-\u9fa5（）()]{2,12})[：:](.+)$")
_ID_NUMBER = re.compile(r"[0-9OoDQlIiZzSBG|]{17}[0-9OoDQlIiZzSBGxX×|]")
_USCC = re.compile(r"[0-9A-Z]{18}")

PERSON_NAME_LABELS = ("经营者姓名", "申请人姓名", "申请人", "姓名", "委托人")
ADDRESS_LABELS = ("经营场所", "住所", "房屋地址", "地址")
ENTITY_NAME_LABELS = ("单位名称", "名称", "企业名称", "个体工商户名称")
LEGAL_REP_LABELS = ("法定代表人", "经营者", "负责人")


def _clean(text: str) -> str:
    return _SPACE.sub("", text)


def _value_after(lines: list[str], label: str, *, stop: tuple[str, ...] = ()) -> str | None:
    """Text following ``label`` on its line, or the next line when the label stands alone."""
    for index, line in enumerate(lines):
        position = line.find(label)
        if position < 0:
            continue
        value = line[position + len(label):].lstrip("：:")
        for word in stop:
            cut = value.find(word)
            if cut > 0:
                value = value[:cut]
        if value:
            return value
        if index + 1 < len(lines) and not any(word in lines[index + 1] for word in stop):
            return lines[index + 1]
    return None


def find_id_number(text: str) -> str | None:
    """The first 18-character resident ID number in ``text``, OCR confusions undone."""
    match = _ID_NUMBER.search(_clean(text))
    return normalise_id_number(match.group(0)) if match else None


def extract_id_card(lines: list[TextLine]) -> dict[str, Any]:
    """Fields of an ID card page (front: 姓名…公民身份号码; back: 签发机关, 有效期限)."""
    texts = [_clean(line.text) for line in lines]
    joined = "".join(texts)
    fields: dict[str, Any] = {}
    name = _value_after(texts, "姓名", stop=("性别",))
    if name:
        fields["姓名"] = name
    if match := re.search(r"性别([男女])", joined):
        fields["性别"] = match.group(1)
    if match := re.search(r"民族([\u4e00-\u9fa5]{1,5}?)(?:出生|$|\d)", joined):
        fields["民族"] = match.group(1)
    if match := re.search(r"出生(\d{4}年\d{1,2}月\d{1,2}日?)", joined):
        fields["出生"] = match.group(1)
    if match := re.search(r"住址(.+?)(?:公民身份|$)", joined):
        fields["住址"] = match.group(1)
    number_text = joined.split("公民身份号码", 1)[-1] if "公民身份号码" in joined else joined
    if number := find_id_number(number_text):
        fields["公民身份号码"] = number
    authority = _value_after(texts, "签发机关", stop=("有效期限",))
    if authority:
        fields["签发机关"] = authority
    if "有效期限" in joined or parse_validity(joined):
        validity = parse_validity(joined.split("有效期限", 1)[-1])
        if validity:
            fields["有效期限"] = validity.text()
    return fields


def extract_business_licence(lines: list[TextLine]) -> dict[str, Any]:
    """Fields of a business licence: 统一社会信用代码, 名称, 类型, 法定代表人/经营者, 注册资本, 成立日期, 营业期限, 住所."""
    texts = [_clean(line.text) for line in lines]
    joined = "".join(texts)
    fields: dict[str, Any] = {}
    tail = joined.split("统一社会信用代码", 1)[-1]
    if match := _USCC.search(normalise_uscc(tail[:30])):
        fields["统一社会信用代码"] = match.group(0)
    labels = {"名称": ("名称",), "类型": ("类型",), "法定代表人": ("法定代表人", "经营者", "负责人"),
              "注册资本": ("注册资本",), "成立日期": ("成立日期",), "营业期限": ("营业期限",),
              "住所": ("住所", "经营场所")}
    stops = ("类型", "法定代表人", "经营者", "注册资本", "成立日期", "住所", "登记机关", "营业期限", "经营范围")
    for key, options in labels.items():
        for label in options:
            value = _value_after(texts, label, stop=tuple(word for word in stops if word != label))
            if value:
                fields[key] = value
                break
    if "住所" in fields:
        index = next((i for i, text in enumerate(texts) if fields["住所"] in text), None)
        if index is not None and index + 1 < len(texts) and len(texts[index + 1]) <= 6 \
                and not any(word in texts[index + 1] for word in (*stops, "年")):
            fields["住所"] += texts[index + 1]
    if "营业期限" in fields and (term := parse_validity(fields["营业期限"])):
        fields["营业期限"] = term.text()
    return fields


def extract_labelled(lines: list[TextLine]) -> dict[str, Any]:
    """"标签：值" pairs of a form, contract or letter of authorisation (labels normalised, parentheses kept)."""
    fields: dict[str, Any] = {}
    for line in lines:
        match = _LABELLED.match(_clean(line.text))
        if match and match.group(1) not in fields:
            fields[match.group(1)] = match.group(2)
    for label in list(fields):
        for role in ("出租方", "承租方"):
            if label.startswith(role):
                fields.setdefault(role, fields[label])
    return fields


def extract_fields(document_type: DocumentType, lines: list[TextLine]) -> dict[str, Any]:
    """Printed fields of a page of the given type."""
    if document_type == DocumentType.id_card:
        return extract_id_card(lines)
    if document_type == DocumentType.business_licence:
        return extract_business_licence(lines)
    return extract_labelled(lines)


def canonical_fields(document_type: DocumentType, fields: dict[str, Any]) -> dict[str, str]:
    """The cross-checked fields (name, id_number, uscc, legal_representative, entity_name, address) of a page."""
    canonical: dict[str, str] = {}

    def first(labels: tuple[str, ...]) -> str | None:
        return next((str(fields[label]) for label in labels if fields.get(label)), None)

    if document_type == DocumentType.id_card:
        if fields.get("姓名"):
            canonical["name"] = fields["姓名"]
        if fields.get("公民身份号码"):
            canonical["id_number"] = fields["公民身份号码"]
    elif document_type == DocumentType.business_licence:
        for key, label in (("entity_name", "名称"), ("uscc", "统一社会信用代码"), ("legal_representative", "法定代表人"),
                           ("address", "住所")):
            if fields.get(label):
                canonical[key] = fields[label]
    elif document_type == DocumentType.lease_contract:
        if fields.get("承租方"):
            canonical["name"] = fields["承租方"]
        if address := first(ADDRESS_LABELS):
            canonical["address"] = address
    else:
        if name := first(PERSON_NAME_LABELS):
            canonical["name"] = name
        if entity := first(ENTITY_NAME_LABELS):
            canonical["entity_name"] = entity
        if rep := first(("法定代表人",)):
            canonical["legal_representative"] = rep
        if address := first(ADDRESS_LABELS):
            canonical["address"] = address
        if number := first(("身份证号码", "公民身份号码", "证件号码")):
            found = find_id_number(number)
            canonical["id_number"] = found or normalise_id_number(number)
        if uscc := first(("统一社会信用代码",)):
            canonical["uscc"] = normalise_uscc(uscc)
    return canonical


def birth_date_text(fields: dict[str, Any]) -> Any:
    """The printed 出生 date of an ID card, parsed, or None."""
    return parse_date(fields["出生"]) if fields.get("出生") else None
