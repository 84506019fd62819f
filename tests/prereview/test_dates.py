import datetime as dt

import pytest

from prereview.extract.dates import Validity, parse_date, parse_validity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020年1月1日", dt.date(2020, 1, 1)),
        ("出生 1996年 2月 9日", dt.date(1996, 2, 9)),
        ("2020.01.01", dt.date(2020, 1, 1)),
        ("2020-12-31", dt.date(2020, 12, 31)),
        ("2O20.O1.15", dt.date(2020, 1, 15)),
    ],
)
def test_parse_date_forms(text, expected):
    assert parse_date(text) == expected


def test_impossible_and_missing_dates():
    assert parse_date("2020年2月30日") is None
    assert parse_date("没有日期") is None


def test_validity_ranges():
    assert parse_validity("有效期限2018.03.01-2038.03.01") == Validity(dt.date(2018, 3, 1), dt.date(2038, 3, 1))
    assert parse_validity("2018.03.01-长期") == Validity(dt.date(2018, 3, 1), None)
    assert parse_validity("2038.03.01-2018.03.01") is None
    period = parse_validity("2016.05.01至2026.05.01")
    assert period is not None and period.covers(dt.date(2026, 5, 1)) and not period.covers(dt.date(2026, 5, 2))


@pytest.mark.parametrize(
    ("text", "expected", "printed"),
    [
        ("长期", Validity(None, None), "长期"),
        ("2020.01.01-2040.01.01", Validity(dt.date(2020, 1, 1), dt.date(2040, 1, 1)), "2020.01.01-2040.01.01"),
        ("2020年1月1日至2040年1月1日", Validity(dt.date(2020, 1, 1), dt.date(2040, 1, 1)), "2020.01.01-2040.01.01"),
        ("2015年03月02日至长期", Validity(dt.date(2015, 3, 2), None), "2015.03.02-长期"),
        ("2015年03月02日 至 永久", Validity(dt.date(2015, 3, 2), None), "2015.03.02-长期"),
    ],
)
def test_business_licence_term_forms(text, expected, printed):
    validity = parse_validity(text)
    assert validity == expected and validity.text() == printed


def test_bare_long_term_covers_every_day_and_other_words_are_not_a_period():
    assert parse_validity(" 长期 ").covers(dt.date(1990, 1, 1))
    assert parse_validity("长期有效的合同") is None
    assert parse_validity("2020年1月1日至") is None
