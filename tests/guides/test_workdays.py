"""Working-day arithmetic on the statutory calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from guides import CalendarRangeError, add_working_days, is_working_day, working_days_between


def test_national_day_holiday_and_adjusted_saturday():
    # 2025: 1-8 October off; Sunday 28 September and Saturday 11 October are adjusted working days.
    assert add_working_days(dt.date(2025, 9, 30), 1) == dt.date(2025, 10, 9)
    assert is_working_day(dt.date(2025, 9, 28)) and is_working_day(dt.date(2025, 10, 11))
    assert add_working_days(dt.date(2025, 10, 9), 2) == dt.date(2025, 10, 11)
    assert not is_working_day(dt.date(2025, 10, 1))


def test_plain_weeks_and_round_trip():
    monday = dt.date(2025, 6, 9)
    assert add_working_days(monday, 5) == dt.date(2025, 6, 16)
    assert add_working_days(monday, 0) == monday
    assert add_working_days(dt.date(2025, 6, 16), -5) == monday
    for days in (1, 7, 20, 60):
        end = add_working_days(dt.date(2025, 1, 20), days)
        assert working_days_between(dt.date(2025, 1, 20), end) == days
    assert working_days_between(dt.date(2025, 6, 16), monday) == -5


def test_outside_supported_years_is_a_clear_error():
    with pytest.raises(CalendarRangeError, match="outside the supported years"):
        add_working_days(dt.date(1999, 1, 4), 3)
    with pytest.raises(CalendarRangeError, match="2099-01-01"):
        working_days_between(dt.date(2025, 1, 1), dt.date(2099, 1, 1))
