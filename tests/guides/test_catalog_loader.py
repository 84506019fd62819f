"""The demo catalog and the YAML loader's error reporting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from guides import CatalogError, DocumentType, MaterialForm, load_catalog, load_demo_catalog, new_version

CONTRACT = {
    "scjg-gtgsh-sl": {
        "application_form": ("application_form", {"signature_required"}, ["name", "id_number"], None),
        "operator_id_card": ("id_card", {"valid_on_application_date"}, ["name", "id_number"], None),
        "premises_proof": ("lease_contract", {"signature_required"}, ["name", "address"], None),
        "agent_authorisation": ("power_of_attorney", {"signature_required"}, [], "applicant.is_agent"),
        "agent_id_card": ("id_card", {"valid_on_application_date"}, [], "applicant.is_agent"),
    },
    "scjg-spjy-xk": {
        "application_form": (
            "application_form", {"seal_required", "signature_required"}, ["uscc", "legal_representative"], None
        ),
        "business_licence": (
            "business_licence", {"seal_required"}, ["uscc", "legal_representative", "name"], None
        ),
        "legal_rep_id_card": ("id_card", {"valid_on_application_date"}, ["name", "id_number"], None),
        "premises_proof": ("lease_contract", {"signature_required"}, ["address"], None),
        "agent_authorisation": ("power_of_attorney", {"signature_required"}, [], "applicant.is_agent"),
        "agent_id_card": ("id_card", {"valid_on_application_date"}, [], "applicant.is_agent"),
    },
    "zfgjj-tq-zf": {
        "id_card": ("id_card", {"valid_on_application_date"}, ["name", "id_number"], None),
        "lease_contract": ("lease_contract", {"signature_required"}, ["name"], None),
        "application_form": ("application_form", {"signature_required"}, ["name", "id_number"], None),
    },
}
FLAGS = ("valid_on_application_date", "seal_required", "signature_required")


@pytest.fixture(scope="module")
def demo():
    return {service.code: service for service in load_demo_catalog()}


def test_demo_catalog_size_and_departments(demo):
    assert len(demo) >= 15
    assert len({service.department for service in demo.values()}) >= 8
    for service in demo.values():
        assert service.aliases and service.materials and service.offices and service.legal_basis
        assert service.consultation_phone.startswith("0000-12345")
        assert service.effective_date is not None


@pytest.mark.parametrize("code", sorted(CONTRACT))
def test_contract_services_have_exact_materials(demo, code):
    service = demo[code]
    assert [m.id for m in service.materials] == list(CONTRACT[code])
    for material_id, (document_type, flags, cross_check, condition) in CONTRACT[code].items():
        material = service.material(material_id)
        assert material.checks.document_type == DocumentType(document_type)
        assert {flag for flag in FLAGS if getattr(material.checks, flag)} == flags
        assert [str(field) for field in material.checks.cross_check] == cross_check
        assert material.condition == condition


def test_contract_details(demo):
    form = demo["scjg-gtgsh-sl"].material("application_form")
    assert form.name == "个体工商户登记（备案）申请书"
    assert form.checks.required_fields == ["经营者姓名", "身份证号码", "经营场所", "经营范围"]
    assert demo["scjg-spjy-xk"].material("business_licence").form is MaterialForm.copy
    assert demo["scjg-spjy-xk"].material("business_licence").name == "营业执照复印件（加盖公章）"
    assert demo["zfgjj-tq-zf"].department == "住房公积金管理中心"


def test_agent_materials_only_for_agents(demo):
    service = demo["scjg-gtgsh-sl"]
    own = {m.id for m in service.required_materials({"is_agent": False})}
    agent = {m.id for m in service.required_materials({"is_agent": True})}
    assert agent - own == {"agent_authorisation", "agent_id_card"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
defaults:
  department: 民政局
services:
  - code: a-1
    name: 测试事项
    service_type: 公共服务
    materials:
      - id: id_card
        name: 身份证
        checks:
          document_type: id_card
"""


def test_load_catalog_file_and_folder(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD.replace("a-1", "b-1"))
    assert [s.code for s in load_catalog(tmp_path)] == ["a-1", "b-1"]
    assert load_catalog(tmp_path / "a.yaml")[0].department == "民政局"


def test_unknown_document_type_names_line_field_and_allowed_values(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("document_type: id_card", "document_type: passport"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    error = caught.value
    assert (error.file, error.line) == (str(path), 11)
    assert error.field == "services[0].materials.0.checks.document_type"
    assert "'passport'" in str(error) and "business_licence" in str(error) and "power_of_attorney" in str(error)
    assert str(error).startswith(f"{path}:11: ")


def test_missing_field_points_at_the_service(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("    name: 测试事项\n", ""))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert (caught.value.line, caught.value.field) == (4, "services[0].name")
    assert "missing" in str(caught.value)


def test_error_in_defaults_points_at_defaults(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("department: 民政局", "department: ''"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert (caught.value.line, caught.value.field) == (2, "defaults.department")


def test_bad_condition_is_reported(tmp_path):
    text = GOOD.replace("        name: 身份证\n", "        name: 身份证\n        condition: applicant.is_agent or\n")
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert caught.value.line == 10 and caught.value.field.endswith("condition")


def test_duplicate_code_names_both_places(tmp_path):
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", "\n\n" + GOOD)
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    assert caught.value.file == str(second) and caught.value.line == 6 and caught.value.field == "code"
    assert f"{first}:4" in str(caught.value)


def test_yaml_syntax_error_and_wrong_shape(tmp_path):
    path = write(tmp_path, "bad.yaml", "services:\n  - code: [unclosed\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert caught.value.line == 3 and "not valid YAML" in str(caught.value)
    with pytest.raises(CatalogError, match="unknown top-level key"):
        load_catalog(write(tmp_path, "c.yaml", "servics: []\n"))
    with pytest.raises(CatalogError, match="'services' must be a list"):
        load_catalog(write(tmp_path, "d.yaml", "services: 3\n"))
    with pytest.raises(CatalogError, match="no such catalog"):
        load_catalog(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="no \\*.yaml catalog files"):
        load_catalog(tmp_path / "empty")


def test_misspelt_material_key_points_at_it(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("        name: 身份证\n", "        name: 身份证\n        sorce: 公安局\n"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert (caught.value.line, caught.value.field) == (10, "services[0].materials.0.sorce")
    assert str(caught.value).endswith("unknown field")


def test_new_version_revalidates(demo):
    service = demo["zfgjj-tq-zf"]
    updated = new_version(service, {"effective_date": dt.date(2026, 1, 1), "aliases": ["租房提取"]})
    assert (updated.version, updated.code, updated.aliases) == (service.version + 1, service.code, ["租房提取"])
    assert service.version == 1
    with pytest.raises(ValueError, match="promised_working_days"):
        new_version(service, {"time_limit": {"legal_working_days": 1, "promised_working_days": 5}})
    with pytest.raises(ValueError, match="cannot change code"):
        new_version(service, {"code": "other"})
    with pytest.raises(ValueError, match="unknown service fields: colour"):
        new_version(service, {"colour": "red"})
