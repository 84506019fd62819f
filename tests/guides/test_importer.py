"""The importer on the real provincial export and on records it has never seen."""

from __future__ import annotations

import json

import pytest

from guides import DocumentType, MaterialForm, ServiceType, import_export, record_to_service, render_guide
from guides.importer import RecordError, materials_from, parse_days, sanitise_code

BASE = {
    "TASK_CODE": "11440000MB2C12345X4442000000",
    "TASK_NAME": "测试许可事项",
    "DEPT_NAME": " 示例省测试厅",
    "TASK_TYPE_TEXT": "行政许可",
    "material_intro": ["申请表", "法定代表人身份证复印件", "营业执照（原件及复印件）"],
    "handle_time": "20(工作日)",
    "handle_time_limit": "5(工作日)",
    "handle_location": "办理地点：广州市天河区某路1号首层12、13号窗口",
    "consult_phone": "020-12345",
    "complain_phone": "无",
    "URL": "https://example.gov.cn/item",
    "theme_category": ["其他"],
    "service_object_name": ["企业法人"],
    "ORGCODE": "123",
}


def test_every_real_record_imports_and_renders(real_outcomes):
    assert len(real_outcomes) == 1578
    failures = [outcome.error for outcome in real_outcomes if outcome.service is None]
    assert failures == []
    codes = [outcome.service.code for outcome in real_outcomes]
    assert len(set(codes)) == len(codes)
    for outcome in real_outcomes:
        html = render_guide(outcome.service)
        assert outcome.service.name.replace("&", "&amp;") in html


def test_real_records_map_fields(real_outcomes):
    services = [outcome.service for outcome in real_outcomes]
    assert all(service.department == service.department.strip() for service in services)
    assert sum(bool(service.materials) for service in services) > 500
    assert sum(service.time_limit.legal_working_days is not None for service in services) > 1000
    assert sum(bool(service.offices) for service in services) > 900
    kinds = {material.checks.document_type for service in services for material in service.materials}
    assert {DocumentType.id_card, DocumentType.business_licence, DocumentType.application_form} <= kinds
    assert all("TASK_NAME" not in service.extra and "theme_category" in service.extra for service in services)
    assert not any(value == "无" for service in services for value in service.extra.values())


def test_mapping_of_one_record():
    service, warnings = record_to_service(BASE)
    assert warnings == []
    assert (service.code, service.department, service.service_type) == (
        "11440000MB2C12345X4442000000", "示例省测试厅", ServiceType.administrative_licence,
    )
    assert [m.checks.document_type for m in service.materials] == [
        DocumentType.application_form, DocumentType.id_card, DocumentType.business_licence,
    ]
    assert [m.form for m in service.materials] == [
        MaterialForm.original, MaterialForm.copy, MaterialForm.original_and_copy,
    ]
    assert (service.time_limit.legal_working_days, service.time_limit.promised_working_days) == (20, 5)
    assert service.offices[0].address == "广州市天河区某路1号首层12、13号窗口"
    assert service.complaint_phone is None and service.online_url == "https://example.gov.cn/item"
    assert service.applicant_types == ["企业法人"]
    assert service.extra == {"theme_category": ["其他"], "ORGCODE": "123"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90(工作日)", (90, None)), ("即办", (0, None)), ("无", (None, None)), ("3个工作日", (3, None)),
        ("30日", (None, "30日")), ("90(自然日)", (None, "90(自然日)")), (7, (7, None)), (None, (None, None)),
        ("当场办结", (0, None)), ("两个月", (None, "两个月")), (-2, (None, "无效时限 -2")),
    ],
)
def test_parse_days(text, expected):
    assert parse_days(text) == expected


def test_material_text_is_split_on_numbering():
    names = [m.name for m in materials_from("1.申请书；2.身份证复印件（一式两份）3.近期1.5寸照片（4）户口本")]
    assert names == ["申请书", "身份证复印件（一式两份）", "近期1.5寸照片", "户口本"]
    assert [m.name for m in materials_from(["《地球站技术资料申报表》（国无管表6）（txt格式）"])] == [
        "《地球站技术资料申报表》（国无管表6）（txt格式）"
    ]
    assert [m.name for m in materials_from("1）申请表 2）身份证")] == ["申请表", "身份证"]
    copies = materials_from("身份证复印件一式两份")
    assert copies[0].copies == 2 and copies[0].id == "id_card"
    assert [m.id for m in materials_from(["身份证", "身份证复印件", "其他材料"])] == ["id_card", "id_card_2", "material_3"]


MUTATIONS = {
    "missing keys": {k: v for k, v in BASE.items() if k in ("TASK_NAME", "DEPT_NAME")},
    "nulls": {**BASE, "TASK_CODE": None, "material_intro": None, "handle_time": None, "URL": None},
    "numbers": {**BASE, "TASK_CODE": 1234567, "handle_time": 15, "handle_time_limit": 3.0, "consult_phone": 2012345},
    "lists instead of strings": {**BASE, "consult_phone": ["020-1", "020-2"], "handle_location": ["地址一", "地址二"]},
    "string instead of list": {**BASE, "service_object_name": "自然人", "material_intro": "（1）申请表（2）身份证"},
    "unknown keys": {**BASE, "NEW_FIELD": {"nested": [1, 2]}, "another": "值"},
    "odd times": {**BASE, "handle_time": "约 3 个月", "handle_time_limit": "视情况而定"},
    "promise over law": {**BASE, "handle_time": "2(工作日)", "handle_time_limit": "9(工作日)"},
    "unknown type": {**BASE, "TASK_TYPE_TEXT": "行政检查"},
    "odd code": {**BASE, "TASK_CODE": "粤/001 号"},
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutated_records_import(name):
    service, _ = record_to_service(MUTATIONS[name])
    assert service.name == "测试许可事项"
    render_guide(service)


def test_mutations_are_mapped_sensibly():
    assert record_to_service(MUTATIONS["numbers"])[0].time_limit.legal_working_days == 15
    assert record_to_service(MUTATIONS["nulls"])[0].code.startswith("gd-")
    assert len(record_to_service(MUTATIONS["lists instead of strings"])[0].offices) == 2
    assert record_to_service(MUTATIONS["unknown keys"])[0].extra["NEW_FIELD"] == {"nested": [1, 2]}
    odd = record_to_service(MUTATIONS["odd times"])[0].time_limit
    assert odd.legal_working_days is None and "约 3 个月" in odd.note
    service, warnings = record_to_service(MUTATIONS["promise over law"])
    assert service.time_limit.promised_working_days is None and "exceeds legal" in warnings[0]
    service, warnings = record_to_service(MUTATIONS["unknown type"])
    assert service.service_type is ServiceType.other_power and "行政检查" in warnings[0]
    assert record_to_service(MUTATIONS["odd code"])[0].code == "001"
    assert sanitise_code("x" * 100, fallback="f") == "x" * 64


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**BASE, "TASK_NAME": None, "matter_name": "无"}, "no TASK_NAME"),
        ({**BASE, "DEPT_NAME": "  "}, "no DEPT_NAME"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_records_that_cannot_be_services(record, message):
    with pytest.raises(RecordError, match=message):
        record_to_service(record)


def test_export_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "export.jsonl"
    lines = [json.dumps(BASE, ensure_ascii=False), "{broken", "", json.dumps({"DEPT_NAME": "厅"}), "[1, 2]"]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8") + b"\xff\xfe\n")
    outcomes = list(import_export(path))
    assert [outcome.line for outcome in outcomes] == [1, 2, 4, 5, 6]
    assert outcomes[0].ok and outcomes[0].error is None
    assert outcomes[1].error.startswith(f"{path}:2: malformed JSON")
    assert outcomes[2].error == f"{path}:4: record has no TASK_NAME (nor matter_name): a service needs a name"
    assert "must be a JSON object" in outcomes[3].error
    assert outcomes[4].error.startswith(f"{path}:6: not UTF-8")


def test_randomly_mutated_real_records_never_raise_anything_but_record_error(real_export):
    import random

    rng = random.Random(12345)
    replacements = [None, 0, -5, 3.5, True, "", "无", [], ["无", 7, None], {"a": 1}, "（1）x（2）y", "字" * 5000]
    lines = real_export.read_text(encoding="utf-8").splitlines()
    imported = rejected = 0
    for line in rng.sample(lines, 300):
        record = json.loads(line)
        for key in rng.sample(sorted(record), k=rng.randint(1, 8)):
            if rng.random() < 0.2:
                del record[key]
            else:
                record[key] = rng.choice(replacements)
        try:
            service, _ = record_to_service(record)
        except RecordError:
            rejected += 1
            continue
        render_guide(service)
        imported += 1
    assert imported > 200 and imported + rejected == 300
