"""Seeded synthetic applications (files + form + facts) with exact ground truth, and whole corpora on disk."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from prereview.checks.identifiers import USCC_CHARSET, id_check_digit, uscc_check_char
from prereview.corpus import render
from prereview.corpus.degrade import PHOTO_DEFECTS, encode_jpeg, photograph
from prereview.corpus.people import Business, Person, make_business, make_person, random_name

DEFAULT_APPLICATION_DATE = dt.date(2026, 11, 24)
SERVICES = ("scjg-gtgsh-sl", "scjg-spjy-xk", "zfgjj-tq-zf")
DEFECTS = (
    "id_check_digit", "id_birthdate", "id_expired", "uscc_invalid", "uscc_mismatch", "legal_rep_mismatch",
    "licence_expired", "address_mismatch", "name_mismatch", "missing_material", "seal_missing", "seal_name_mismatch",
    "signature_missing", *PHOTO_DEFECTS,
)
# Defects on the business licence or the applicant's seal: only the food licence service has them.
LICENCE_DEFECTS = ("uscc_invalid", "uscc_mismatch", "legal_rep_mismatch", "licence_expired", "seal_missing",
                   "seal_name_mismatch")
# The premises address is cross-checked by the market-regulation services only.
ADDRESS_SERVICES = ("scjg-gtgsh-sl", "scjg-spjy-xk")
_DEFECT_CODES = {
    "blurry": "image_blurry", "dark": "image_too_dark", "overexposed": "image_overexposed",
    "cropped": "document_cropped",
}


class UnknownDefectError(ValueError):
    """A defect name the generator does not know, or one that does not apply to the service."""


@dataclass
class _Doc:
    file: str
    material: str
    image: Image.Image
    fields: dict[str, str] = field(default_factory=dict)
    scan: bool = False


def _bad_check_digit(number: str) -> str:
    right = id_check_digit(number[:17])
    wrong = next(char for char in "0123456789X" if char != right and char != number[17])
    return number[:17] + wrong


def _bad_uscc(code: str) -> str:
    right = code[17]
    wrong = next(char for char in USCC_CHARSET if char != right)
    return code[:17] + wrong


def _other_valid_uscc(rng: random.Random, code: str) -> str:
    """A different code with a correct check character: a real mix-up, not a misprint."""
    while True:
        position = rng.randrange(10, 16)
        body = code[:position] + rng.choice(USCC_CHARSET[:10]) + code[position + 1:17]
        if body != code[:17]:
            return body + uscc_check_char(body)


def licence_term(rng: random.Random, founded: dt.date, application_date: dt.date, *, expired: bool) -> tuple[str, str]:
    """The 营业期限 as printed on the licence (2015年03月02日至2035年03月01日 or 长期) and as extracted."""
    def printed(day: dt.date) -> str:
        return f"{day.year}年{day.month:02d}月{day.day:02d}日"

    if expired:
        end = application_date - dt.timedelta(days=rng.randint(10, 400))
    else:
        form = rng.choice(("long", "open_end", "fixed"))
        if form == "long":
            return "长期", "长期"
        if form == "open_end":
            return f"{printed(founded)}至长期", f"{render.dotted(founded)}-长期"
        end = founded.replace(year=founded.year + rng.choice((20, 30))) - dt.timedelta(days=1)
    return f"{printed(founded)}至{printed(end)}", f"{render.dotted(founded)}-{render.dotted(end)}"


def equivalent_address(rng: random.Random, address: str) -> str:
    """The same address written another way: leading 省/市 left out, or 幢 for 栋."""
    form = rng.choice(("same", "no_province", "no_city", "zhuang"))
    if form == "no_province" and "省" in address:
        return address.split("省", 1)[1]
    if form == "no_city" and "市" in address:
        return address.split("市", 1)[1]
    if form == "zhuang":
        return address.replace("栋", "幢")
    return address


def _other_house_number(rng: random.Random, address: str) -> str:
    """The address with a different street number (号): another place."""
    head, tail = address.split("号", 1)
    digits = len(head) - len(head.rstrip("0123456789"))
    number = int(head[-digits:])
    other = number + rng.choice((-1, 1)) * rng.randint(1, 20) if number > 21 else number + rng.randint(1, 20)
    return f"{head[:-digits]}{other}号{tail}"


def _altered_name(rng: random.Random, name: str) -> str:
    while True:
        other = random_name(rng)
        if other[0] == name[0] and other != name:
            return other[0] + other[1:] if len(other) == len(name) else name[0] + other[1:]
        if other != name and other[0] != name[0]:
            return other


def applicable_defects(service: str) -> tuple[str, ...]:
    """Defects that make sense for a service (licence and seal defects need a business licence)."""
    if service == "scjg-spjy-xk":
        return DEFECTS
    return tuple(defect for defect in DEFECTS if defect not in LICENCE_DEFECTS
                 and (defect != "address_mismatch" or service in ADDRESS_SERVICES))


def generate_application(service_code: str, seed: int, defects: list[str] | tuple[str, ...] = (), *,
                         application_date: dt.date = DEFAULT_APPLICATION_DATE, is_agent: bool = False,
                         ) -> tuple[list[tuple[str, bytes]], dict[str, str], dict[str, bool], dict[str, Any]]:
    """Files (name, JPEG bytes), form data, applicant facts and ground truth for one application.

    Defects are injected exactly; the truth lists the expected verdict, the expected findings as
    {code, file} (file None for a missing material) and the expected fields per file.
    """
    if service_code not in SERVICES:
        raise UnknownDefectError(f"no generator for service {service_code!r}; known: {', '.join(SERVICES)}")
    for defect in defects:
        if defect not in applicable_defects(service_code):
            raise UnknownDefectError(f"defect {defect!r} does not apply to {service_code}")
    rng = random.Random(f"{service_code}:{seed}")
    # Choices added later draw from their own stream, so earlier corpora keep their documents.
    variant = random.Random(f"{service_code}:{seed}:variant")
    person = make_person(rng, application_date=application_date)
    business = make_business(rng, person)
    docs, form = _documents(service_code, rng, variant, person, business, set(defects), application_date, is_agent)
    expected: list[dict[str, Any]] = []
    id_front = next(doc for doc in docs if doc.file.startswith("id_front"))
    form_doc = next(doc for doc in docs if doc.material == "application_form")

    if "id_check_digit" in defects:
        expected += [{"code": "id_number_invalid", "file": id_front.file}]
        if "身份证号码" in form_doc.fields:
            expected += [{"code": "id_number_invalid", "file": form_doc.file}]
    if "id_birthdate" in defects:
        expected.append({"code": "id_birthdate_mismatch", "file": id_front.file})
    if "id_expired" in defects:
        expected.append({"code": "document_expired", "file": next(d.file for d in docs if d.file.startswith("id_back"))})
    if "uscc_invalid" in defects:
        expected += [{"code": "uscc_invalid", "file": d.file} for d in docs if "统一社会信用代码" in d.fields]
    if "uscc_mismatch" in defects:
        expected.append({"code": "uscc_mismatch", "file": form_doc.file})
    if "legal_rep_mismatch" in defects:
        expected.append({"code": "legal_representative_mismatch", "file": "licence.jpg"})
    if "licence_expired" in defects:
        expected.append({"code": "document_expired", "file": "licence.jpg"})
    if "address_mismatch" in defects:
        expected.append({"code": "address_mismatch", "file": "lease.jpg"})
    if "name_mismatch" in defects:
        expected.append({"code": "name_mismatch", "file": id_front.file})
    if "seal_missing" in defects:
        expected.append({"code": "seal_missing", "file": form_doc.file})
    if "seal_name_mismatch" in defects:
        expected.append({"code": "seal_name_mismatch", "file": form_doc.file})
    if "signature_missing" in defects:
        expected.append({"code": "signature_missing", "file": form_doc.file})
    if "missing_material" in defects:
        dropped = rng.choice(sorted({doc.material for doc in docs if doc.material != "application_form"}))
        docs = [doc for doc in docs if doc.material != dropped]
        expected = [item for item in expected if any(doc.file == item["file"] for doc in docs)]
        expected.append({"code": "material_missing", "file": None, "material": dropped})
    photo_defect = next((defect for defect in defects if defect in PHOTO_DEFECTS), None)
    victim = rng.choice([doc for doc in docs if not doc.scan]) if photo_defect else None
    if victim is not None and photo_defect is not None:
        expected.append({"code": _DEFECT_CODES[photo_defect], "file": victim.file})

    files = []
    for doc in docs:
        photo = photograph(doc.image, rng, defect=photo_defect if doc is victim else None, scan=doc.scan)
        files.append((doc.file, encode_jpeg(photo, rng)))
    order = list(range(len(files)))
    rng.shuffle(order)
    files = [files[index] for index in order]
    truth = {
        "service": service_code,
        "seed": seed,
        "application_date": application_date.isoformat(),
        "defects": list(defects),
        "expected_verdict": "needs_fix" if defects else "pass",
        "expected_findings": expected,
        "expected_fields": {doc.file: doc.fields for doc in docs},
        "materials": {doc.file: doc.material for doc in docs},
    }
    return files, form, {"is_agent": is_agent}, truth


def _documents(service: str, rng: random.Random, variant: random.Random, person: Person, business: Business,
               defects: set[str], application_date: dt.date, is_agent: bool) -> tuple[list[_Doc], dict[str, str]]:
    id_number = _bad_check_digit(person.id_number) if "id_check_digit" in defects else person.id_number
    card_name = _altered_name(rng, person.name) if "name_mismatch" in defects else person.name
    card_person = Person(**{**person.__dict__, "name": card_name, "id_number": id_number})
    birth_text = None
    if "id_birthdate" in defects:
        shifted = person.birth.replace(year=person.birth.year + rng.choice((-3, -1, 2, 5)))
        birth_text = f"{shifted.year}年 {shifted.month}月 {shifted.day}日"
    valid_to: dt.date | None | str = "person"
    if "id_expired" in defects:
        valid_to = application_date - dt.timedelta(days=rng.randint(20, 600))
        card_person = Person(**{**card_person.__dict__, "valid_from": valid_to.replace(year=valid_to.year - 10)})
    id_material = {"scjg-gtgsh-sl": "operator_id_card", "scjg-spjy-xk": "legal_rep_id_card"}.get(service, "id_card")
    front_fields = {"姓名": card_name, "公民身份号码": id_number}
    back_validity = (card_person.valid_from, card_person.valid_to if valid_to == "person" else valid_to)
    back_fields = {"有效期限": f"{render.dotted(back_validity[0])}-"
                              f"{render.dotted(back_validity[1]) if isinstance(back_validity[1], dt.date) else '长期'}"}
    docs = [
        _Doc("id_front.jpg", id_material, render.id_card_front(card_person, birth_text=birth_text), front_fields),
        _Doc("id_back.jpg", id_material, render.id_card_back(card_person, valid_to=valid_to), back_fields),
    ]
    signature = "signature_missing" not in defects
    lease_start = application_date - dt.timedelta(days=rng.randint(30, 300))
    lease_end = lease_start.replace(year=lease_start.year + rng.choice((1, 2, 3)))
    landlord = random_name(rng)
    form = {"name": person.name, "id_number": id_number}
    lease_address = _other_house_number(variant, business.address) if "address_mismatch" in defects \
        else equivalent_address(variant, business.address)
    if service == "scjg-gtgsh-sl":
        form["address"] = business.address
        fields = [("经营者姓名", person.name), ("身份证号码", id_number), ("经营场所", business.address),
                  ("经营范围", "预包装食品销售、日用百货零售"), ("联系电话", f"13{rng.randint(100000000, 999999999)}")]
        form_image = render.application_form("个体工商户登记（备案）申请书", fields, rng, signature=signature,
                                              signer_label="经营者签名")
        docs.append(_Doc("form.jpg", "application_form", form_image, dict(fields[:4]), scan=True))
        docs.append(_Doc("lease.jpg", "premises_proof",
                         render.lease_contract(landlord, person.name, lease_address, lease_start, lease_end,
                                               rng.randint(15, 80) * 100, rng),
                         {"承租方": person.name, "房屋地址": lease_address}))
    elif service == "scjg-spjy-xk":
        uscc = business.uscc if "uscc_invalid" not in defects else _bad_uscc(business.uscc)
        form = {"name": person.name, "id_number": id_number, "uscc": uscc, "legal_representative": person.name,
                "entity_name": business.name, "address": business.address}
        # uscc_mismatch: the citizen typed the licence's code, the printed form carries another valid one.
        form_uscc = _other_valid_uscc(variant, uscc) if "uscc_mismatch" in defects else uscc
        fields = [("单位名称", business.name), ("统一社会信用代码", form_uscc), ("法定代表人", person.name),
                  ("经营场所", business.address), ("经营项目", "热食类食品制售")]
        seal_name: str | None = business.name
        if "seal_missing" in defects:
            seal_name = None
        elif "seal_name_mismatch" in defects:
            seal_name = f"{business.name[:-4]}{'宏达商行' if not business.name.endswith('宏达商行') else '兴旺饭店'}"
        form_image = render.application_form("食品经营许可申请书", fields, rng, signature=signature,
                                              seal_name=seal_name,
                                              signer_label="法定代表人签名")
        docs.append(_Doc("form.jpg", "application_form", form_image, dict(fields[:3]), scan=True))
        representative = _altered_name(variant, person.name) if "legal_rep_mismatch" in defects else person.name
        term, term_fields = licence_term(variant, business.founded, application_date,
                                          expired="licence_expired" in defects)
        docs.append(_Doc("licence.jpg", "business_licence",
                         render.business_licence(business, rng, uscc=uscc, legal_representative=representative,
                                                 term=term),
                         {"统一社会信用代码": uscc, "名称": business.name, "法定代表人": representative,
                          "营业期限": term_fields}))
        docs.append(_Doc("lease.jpg", "premises_proof",
                         render.lease_contract(landlord, business.name, lease_address, lease_start, lease_end,
                                               rng.randint(30, 150) * 100, rng),
                         {"承租方": business.name, "房屋地址": lease_address}))
    else:
        fields = [("申请人姓名", person.name), ("身份证号码", id_number), ("提取原因", "租赁住房"),
                  ("收款银行", "中国建设银行"), ("银行账号", f"6217{rng.randint(10**14, 10**15 - 1)}")]
        form_image = render.application_form("住房公积金提取申请表", fields, rng, signature=signature)
        docs.append(_Doc("form.jpg", "application_form", form_image, dict(fields[:2]), scan=True))
        docs.append(_Doc("lease.jpg", "lease_contract",
                         render.lease_contract(landlord, person.name, person.address, lease_start, lease_end,
                                               rng.randint(15, 60) * 100, rng), {"承租方": person.name}))
    if is_agent and service.startswith("scjg"):
        agent = make_person(rng, application_date=application_date)
        docs.append(_Doc("authorisation.jpg", "agent_authorisation",
                         render.power_of_attorney(person.name, agent.name, agent.id_number, "个体工商户设立登记", rng),
                         {"受托人": agent.name}))
        docs.append(_Doc("agent_id_front.jpg", "agent_id_card", render.id_card_front(agent),
                         {"姓名": agent.name, "公民身份号码": agent.id_number}))
    return docs, form


def generate_corpus(out_dir: Path, n: int, seed: int, *, defect_share: float = 0.6) -> list[dict[str, Any]]:
    """Write ``n`` applications under ``out_dir/<id>/`` (files, form.json, facts.json, truth.json); return truths."""
    rng = random.Random(seed)
    truths = []
    for index in range(n):
        service = SERVICES[index % len(SERVICES)]
        defects: list[str] = []
        if rng.random() < defect_share:
            defects = [rng.choice(applicable_defects(service))]
        files, form, facts, truth = generate_application(service, seed * 100_000 + index, defects)
        folder = out_dir / f"app_{index:04d}"
        (folder / "files").mkdir(parents=True, exist_ok=True)
        for name, data in files:
            (folder / "files" / name).write_bytes(data)
        (folder / "form.json").write_text(json.dumps(form, ensure_ascii=False, indent=1), encoding="utf-8")
        (folder / "facts.json").write_text(json.dumps(facts), encoding="utf-8")
        (folder / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
        truths.append(truth)
    return truths
