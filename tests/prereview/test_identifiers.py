import datetime as dt

import pytest

from prereview.checks.identifiers import (
    check_id_number,
    check_uscc,
    id_check_digit,
    mask_id_number,
    normalise_id_number,
    uscc_check_char,
)


def test_known_valid_id_number_with_x_check_digit():
    result = check_id_number("11010519491231002X")
    assert result.problem is None
    assert result.birth_date == dt.date(1949, 12, 31)


def test_specimen_number_has_wrong_check_digit():
    result = check_id_number("430512198908131367")
    assert result.problem == "校验位应为 9，实为 7"
    assert result.birth_date == dt.date(1989, 8, 13)


@pytest.mark.parametrize("number", ["4305121989081313", "430512198913311369", "4305121989O8131369x"])
def test_malformed_numbers_are_reported(number):
    assert check_id_number(number).problem is not None


def test_ocr_confusions_are_undone():
    assert normalise_id_number("11O1O519491231OO2x") == "11010519491231002X"
    assert check_id_number("11O1O519491231OO2x").problem is None


def test_check_digit_function_matches_standard_example():
    assert id_check_digit("11010519491231002") == "X"


def test_uscc_valid_and_invalid():
    body = "91350100M000100Y4"
    code = body + uscc_check_char(body)
    assert code == "91350100M000100Y43"
    assert check_uscc(code) is None
    assert check_uscc(body + "4") == "校验位应为 3，实为 4"
    assert "不允许的字符" in check_uscc("91350100M000100Y4I".replace("I", "*"))
    assert check_uscc("9135") == "应为 18 位，识别为 4 位"


def test_mask_hides_birth_date():
    assert mask_id_number("11010519491231002X") == "1101************2X"
