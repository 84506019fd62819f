import datetime as dt
import json
import random

import cv2
import numpy as np
import pytest

from guides import load_demo_catalog
from prereview.checks.identifiers import check_id_number, check_uscc
from prereview.checks.materials import compare_addresses
from prereview.corpus import DEFECTS, UnknownDefectError, applicable_defects, generate_application, generate_corpus
from prereview.corpus.generate import equivalent_address, licence_term
from prereview.extract.dates import parse_validity
from prereview.pipeline import Pipeline
from prereview.settings import PrereviewSettings

TODAY = dt.date(2026, 11, 24)


def test_generation_is_deterministic_and_identifiers_valid():
    first = generate_application("scjg-spjy-xk", 9)
    second = generate_application("scjg-spjy-xk", 9)
    assert [data for _, data in first[0]] == [data for _, data in second[0]]
    files, form, facts, truth = first
    assert check_id_number(form["id_number"]).problem is None
    assert check_uscc(form["uscc"]) is None
    assert truth["expected_verdict"] == "pass" and truth["expected_findings"] == []
    assert facts == {"is_agent": False}
    for name, data in files:
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None, name


def test_defects_have_exact_ground_truth():
    _, form, _, truth = generate_application("zfgjj-tq-zf", 2, ["id_check_digit"])
    assert check_id_number(form["id_number"]).problem is not None
    assert {(f["code"], f["file"]) for f in truth["expected_findings"]} == {
        ("id_number_invalid", "id_front.jpg"), ("id_number_invalid", "form.jpg")}
    files, _, _, truth = generate_application("scjg-gtgsh-sl", 2, ["missing_material"])
    dropped = truth["expected_findings"][0]["material"]
    assert dropped not in truth["materials"].values()
    assert len(files) == len(truth["materials"])
    _, _, _, truth = generate_application("zfgjj-tq-zf", 3, ["id_expired"], application_date=dt.date(2026, 1, 1))
    validity = truth["expected_fields"]["id_back.jpg"]["有效期限"]
    assert validity.split("-")[1] < "2026.01.01"


def test_agent_applications_carry_the_conditional_materials():
    files, _, facts, truth = generate_application("scjg-gtgsh-sl", 4, is_agent=True)
    assert facts == {"is_agent": True}
    assert {"agent_authorisation", "agent_id_card"} <= set(truth["materials"].values())


def test_unknown_or_inapplicable_defects_are_refused():
    with pytest.raises(UnknownDefectError):
        generate_application("zfgjj-tq-zf", 1, ["seal_missing"])
    with pytest.raises(UnknownDefectError):
        generate_application("no-such-service", 1)
    assert set(applicable_defects("scjg-spjy-xk")) == set(DEFECTS)


def test_generate_corpus_writes_files_and_truth(tmp_path):
    truths = generate_corpus(tmp_path, 2, seed=5)
    assert len(truths) == 2
    folder = tmp_path / "app_0000"
    assert json.loads((folder / "truth.json").read_text(encoding="utf-8")) == truths[0]
    assert sorted(p.name for p in (folder / "files").iterdir()) == sorted(truths[0]["materials"])


def test_consistency_defects_have_exact_ground_truth():
    _, form, _, truth = generate_application("scjg-spjy-xk", 3, ["uscc_mismatch"])
    printed = truth["expected_fields"]["form.jpg"]["统一社会信用代码"]
    assert printed != form["uscc"] == truth["expected_fields"]["licence.jpg"]["统一社会信用代码"]
    assert check_uscc(printed) is None and check_uscc(form["uscc"]) is None
    assert truth["expected_findings"] == [{"code": "uscc_mismatch", "file": "form.jpg"}]
    _, form, _, truth = generate_application("scjg-spjy-xk", 3, ["legal_rep_mismatch"])
    assert truth["expected_fields"]["licence.jpg"]["法定代表人"] != form["legal_representative"]
    assert truth["expected_findings"] == [{"code": "legal_representative_mismatch", "file": "licence.jpg"}]
    _, _, _, truth = generate_application("scjg-spjy-xk", 3, ["licence_expired"])
    assert not parse_validity(truth["expected_fields"]["licence.jpg"]["营业期限"]).covers(TODAY)
    assert truth["expected_findings"] == [{"code": "document_expired", "file": "licence.jpg"}]
    for service in ("scjg-gtgsh-sl", "scjg-spjy-xk"):
        _, form, _, truth = generate_application(service, 3, ["address_mismatch"])
        assert compare_addresses(truth["expected_fields"]["lease.jpg"]["房屋地址"], form["address"]) == "different"
        assert truth["expected_findings"] == [{"code": "address_mismatch", "file": "lease.jpg"}]


def test_clean_applications_write_licence_terms_and_addresses_in_equivalent_forms():
    _, form, _, truth = generate_application("scjg-spjy-xk", 7)
    assert parse_validity(truth["expected_fields"]["licence.jpg"]["营业期限"]).covers(TODAY)
    assert compare_addresses(truth["expected_fields"]["lease.jpg"]["房屋地址"], form["address"]) == "same"
    rng = random.Random(1)
    terms = [licence_term(rng, dt.date(2015, 3, 2), TODAY, expired=False) for _ in range(30)]
    assert {printed for printed, _ in terms} >= {"长期", "2015年03月02日至长期", "2015年03月02日至2035年03月01日"}
    assert all(parse_validity(printed) == parse_validity(extracted) for printed, extracted in terms)
    address = "广东省广州市天河区中山路12号3栋1201室"
    written = {equivalent_address(rng, address) for _ in range(30)}
    assert len(written) == 4 and all(compare_addresses(other, address) == "same" for other in written)


def test_licence_defects_need_a_licence():
    for defect in ("uscc_mismatch", "legal_rep_mismatch", "licence_expired"):
        assert defect not in applicable_defects("scjg-gtgsh-sl")
    assert "address_mismatch" in applicable_defects("scjg-gtgsh-sl")
    assert "address_mismatch" not in applicable_defects("zfgjj-tq-zf")


@pytest.fixture(scope="module")
def real_pipeline(rapid_ocr):
    return Pipeline.create(settings=PrereviewSettings(), ocr=rapid_ocr)


@pytest.mark.parametrize(
    ("service", "defect"),
    [("scjg-spjy-xk", "uscc_mismatch"), ("scjg-spjy-xk", "legal_rep_mismatch"), ("scjg-spjy-xk", "licence_expired"),
     ("scjg-gtgsh-sl", "address_mismatch")],
)
def test_consistency_defects_round_trip_through_the_pipeline(real_pipeline, service, defect):
    files, form, facts, truth = generate_application(service, 31, [defect])
    catalog = {s.code: s for s in load_demo_catalog()}
    report = real_pipeline.check(service=catalog[service], files=files, form=form, facts=facts, application_date=TODAY)
    assert report.verdict == "needs_fix"
    assert {(f.code.value, f.file) for f in report.findings if f.severity == "blocking"} == {
        (item["code"], item["file"]) for item in truth["expected_findings"]}
