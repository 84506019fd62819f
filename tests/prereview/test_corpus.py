import datetime as dt
import json

import cv2
import numpy as np
import pytest

from prereview.checks.identifiers import check_id_number, check_uscc
from prereview.corpus import DEFECTS, UnknownDefectError, applicable_defects, generate_application, generate_corpus


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
