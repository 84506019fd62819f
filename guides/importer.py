"""Import the provincial government-service export (one JSON object per line) into catalog services."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guides.schema import DocumentType, Material, MaterialCheck, MaterialForm, Office, Service, ServiceType, TimeLimit

# Source keys this importer maps onto Service fields; everything else is kept in ``Service.extra``.
MAPPED_KEYS = frozenset(
    {
        "TASK_CODE", "TASK_NAME", "matter_name", "DEPT_NAME", "TASK_TYPE_TEXT", "matter_type", "material_intro",
        "handle_time", "handle_time_limit", "handle_location", "consult_phone", "complain_phone", "URL",
        "service_object_name", "matter_short", "accept_standard",
    }
)
PLACEHOLDERS = frozenset({"", "无", "暂无", "null", "none", "-", "—", "/", "无线下办理窗口"})

# First match wins, so longer, more specific names come before the ones they contain.
DOCUMENT_TYPE_KEYWORDS: tuple[tuple[str, DocumentType], ...] = (
    ("委托书", DocumentType.power_of_attorney),
    ("授权书", DocumentType.power_of_attorney),
    ("营业执照", DocumentType.business_licence),
    ("户口簿", DocumentType.household_register),
    ("户口本", DocumentType.household_register),
    ("结婚证", DocumentType.marriage_certificate),
    ("租赁合同", DocumentType.lease_contract),
    ("租房合同", DocumentType.lease_contract),
    ("申请表", DocumentType.application_form),
    ("申请书", DocumentType.application_form),
    ("申报表", DocumentType.application_form),
    ("登记表", DocumentType.application_form),
    ("身份证", DocumentType.id_card),
    ("房产证", DocumentType.property_certificate),
    ("不动产权证", DocumentType.property_certificate),
    ("房屋所有权证", DocumentType.property_certificate),
    ("照片", DocumentType.photo),
    ("体检", DocumentType.medical_certificate),
    ("诊断证明", DocumentType.medical_certificate),
    ("医学证明", DocumentType.medical_certificate),
    ("学历证", DocumentType.diploma),
    ("毕业证", DocumentType.diploma),
)

# Item numbering ("1." "2、" "（3）" "④" "五、", "6）" only after a separator so "（表6）" survives) starts a
# new item; so do "；" and line breaks.
_NUMBER_MARK = re.compile(
    r"(?<!\d)\d{1,2}[.、．](?!\d)|(?:^|(?<=[\s。；;，,：:]))(?:\d{1,2}[)）]|[一二三四五六七八九十]{1,2}、)"
    r"|[（(]\d{1,2}[)）]|[①-⑳]"
)
_SEPARATORS = re.compile(r"[；;\n\r]+")
_DAYS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:\(|（)?\s*(个)?\s*(工作日|自然日|日|天|个月|月)?")
_CODE_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")
_CHINESE_COUNT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


class RecordError(ValueError):
    """A record that cannot become a Service."""


@dataclass(frozen=True)
class ImportOutcome:
    """The result for one line of an export: a service, or a clear error."""

    line: int
    service: Service | None = None
    error: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether the line became a service."""
        return self.service is not None


def _text(value: Any) -> str | None:
    """A source value as clean text; placeholders such as ``无`` and empty values become None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        parts = [part for part in (_text(item) for item in value) if part]
        return "；".join(parts) or None
    if isinstance(value, Mapping):
        return None
    text = str(value).strip().strip("。").strip()
    return None if text.lower() in PLACEHOLDERS else text


def _items(value: Any) -> list[str]:
    """A list field, or a numbered free-text list, as clean items."""
    if isinstance(value, (list, tuple)):
        return [item for entry in value for item in _items(entry)]
    text = _text(value)
    if text is None:
        return []
    items = [part.strip(" \t，,。：:") for part in _SEPARATORS.split(_NUMBER_MARK.sub("\n", text))]
    return [item for item in items if item and item.lower() not in PLACEHOLDERS]


def sanitise_code(raw: Any, *, fallback: str) -> str:
    """A service code from TASK_CODE, safe for the schema (``[A-Za-z0-9_.-]``, at most 64 characters)."""
    text = _text(raw)
    code = _CODE_UNSAFE.sub("-", text).strip("-.") if text else ""
    if not code:
        code = "gd-" + hashlib.sha1(fallback.encode("utf-8")).hexdigest()[:16]
    return code[:64]


def guess_document_type(name: str) -> DocumentType:
    """The document type a material name most likely means (身份证 → id_card, else other)."""
    return next((kind for keyword, kind in DOCUMENT_TYPE_KEYWORDS if keyword in name), DocumentType.other)


def guess_form(name: str) -> MaterialForm:
    """Original, copy or both, from wording such as 复印件 / 原件及复印件."""
    if "原件" in name and "复印件" in name:
        return MaterialForm.original_and_copy
    if "复印件" in name or "影印件" in name:
        return MaterialForm.copy
    if "电子版" in name or "扫描件" in name:
        return MaterialForm.electronic
    return MaterialForm.original


def _copies(name: str) -> int:
    match = re.search(r"一式([一二两三四五六七八九十]|\d{1,2})份", name)
    if not match:
        return 1
    count = match.group(1)
    return int(count) if count.isdigit() else _CHINESE_COUNT[count]


def materials_from(value: Any) -> list[Material]:
    """Material entries from ``material_intro`` (a list, or numbered text)."""
    materials: list[Material] = []
    used: dict[str, int] = {}
    for number, name in enumerate(_items(value), start=1):
        kind = guess_document_type(name)
        base = kind.value if kind is not DocumentType.other else "material"
        used[base] = used.get(base, 0) + 1
        material_id = base if used[base] == 1 and kind is not DocumentType.other else f"{base}_{used[base]}"
        if kind is DocumentType.other:
            material_id = f"material_{number}"
        materials.append(
            Material(
                id=material_id,
                name=name[:500],
                form=guess_form(name),
                copies=_copies(name),
                checks=MaterialCheck(document_type=kind),
            )
        )
    return materials


def parse_days(value: Any) -> tuple[int | None, str | None]:
    """Working days from a time string such as ``90(工作日)``, ``即办``, ``3个工作日``; else None and a note.

    Calendar days (``30日``, ``90(自然日)``) and months cannot be turned into working days without a start
    date, so they are returned as a note.
    """
    if isinstance(value, bool):
        return None, None
    if isinstance(value, int):
        return (value, None) if value >= 0 else (None, f"无效时限 {value}")
    if isinstance(value, float):
        return (round(value), None) if value >= 0 else (None, f"无效时限 {value:g}")
    text = _text(value)
    if text is None:
        return None, None
    if any(word in text for word in ("即办", "当场", "立即", "即时")):
        return 0, None
    match = _DAYS.search(text)
    if not match:
        return None, text
    amount, unit = float(match.group(1)), match.group(3)
    if unit in (None, "工作日"):
        return round(amount), None
    return None, text


def _time_limit(record: Mapping[str, Any], warnings: list[str]) -> TimeLimit:
    legal, legal_note = parse_days(record.get("handle_time"))
    promised, promised_note = parse_days(record.get("handle_time_limit"))
    notes = [f"法定办结时限：{legal_note}" if legal_note else "", f"承诺办结时限：{promised_note}" if promised_note else ""]
    if legal is not None and promised is not None and promised > legal:
        warnings.append(f"promised time limit {promised} exceeds legal {legal}; kept as a note")
        notes.append(f"承诺办结时限：{promised} 个工作日（超过法定时限，待核实）")
        promised = None
    return TimeLimit(
        legal_working_days=legal, promised_working_days=promised, note="；".join(n for n in notes if n) or None
    )


def _offices(value: Any, department: str) -> list[Office]:
    offices = []
    text = _text(value)
    for item in _SEPARATORS.split(text) if text else []:
        address = re.sub(r"^(?:办理地点|地址|窗口地址)\s*[:：]\s*", "", item).strip()
        if address and address.lower() not in PLACEHOLDERS:
            offices.append(Office(name=f"{department}办理窗口", address=address))
    return offices


def _service_type(record: Mapping[str, Any], warnings: list[str]) -> ServiceType:
    for key in ("TASK_TYPE_TEXT", "matter_type"):
        text = _text(record.get(key))
        if text:
            try:
                return ServiceType(text)
            except ValueError:
                warnings.append(f"unknown service type {text!r}; filed as 其他行政权力")
                return ServiceType.other_power
    warnings.append("no service type; filed as 其他行政权力")
    return ServiceType.other_power


def _extra(record: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if key in MAPPED_KEYS:
            continue
        extra[str(key)] = None if isinstance(value, str) and _text(value) is None else value
    return extra


def record_to_service(record: Mapping[str, Any]) -> tuple[Service, list[str]]:
    """One export record as a Service, with warnings; RecordError when it cannot be one."""
    if not isinstance(record, Mapping):
        raise RecordError(f"a record must be a JSON object, not {type(record).__name__}")
    name = _text(record.get("TASK_NAME")) or _text(record.get("matter_name"))
    if not name:
        raise RecordError("record has no TASK_NAME (nor matter_name): a service needs a name")
    department = _text(record.get("DEPT_NAME"))
    if not department:
        raise RecordError(f"record {name!r} has no DEPT_NAME: a service needs a responsible department")
    warnings: list[str] = []
    aliases = [alias for alias in _items(record.get("matter_short")) if alias != name]
    try:
        service = Service(
            code=sanitise_code(record.get("TASK_CODE"), fallback=f"{department}/{name}"),
            name=name,
            aliases=aliases,
            department=department,
            service_type=_service_type(record, warnings),
            applicant_types=_items(record.get("service_object_name")),
            conditions=_items(record.get("accept_standard")),
            materials=materials_from(record.get("material_intro")),
            time_limit=_time_limit(record, warnings),
            offices=_offices(record.get("handle_location"), department),
            consultation_phone=_text(record.get("consult_phone")),
            complaint_phone=_text(record.get("complain_phone")),
            online_url=_text(record.get("URL")),
            extra=_extra(record),
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "record"
        raise RecordError(f"{where}: {error['msg']}") from None
    return service, warnings


def import_export(path: str | Path) -> Iterator[ImportOutcome]:
    """One outcome per non-blank line of a JSON-lines export; bad lines give an error, never an exception."""
    source = Path(path)
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except UnicodeDecodeError as exc:
                yield ImportOutcome(line=number, error=f"{source}:{number}: not UTF-8 text ({exc.reason})")
                continue
            except json.JSONDecodeError as exc:
                yield ImportOutcome(line=number, error=f"{source}:{number}: malformed JSON ({exc.msg} at column {exc.colno})")
                continue
            try:
                service, warnings = record_to_service(record)
            except RecordError as exc:
                yield ImportOutcome(line=number, error=f"{source}:{number}: {exc}")
                continue
            yield ImportOutcome(line=number, service=service, warnings=tuple(warnings))
