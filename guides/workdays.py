"""Working-day arithmetic on the Chinese statutory calendar (holidays and adjusted working days)."""

from __future__ import annotations

import datetime as dt

from chinese_calendar import constants, is_workday


class CalendarRangeError(ValueError):
    """A date outside the years the installed ``chinesecalendar`` release publishes holidays for."""


def supported_years() -> tuple[int, int]:
    """First and last year with published statutory holidays in the installed ``chinesecalendar``."""
    years = [day.year for day in constants.holidays]
    return min(years), max(years)


def _check(day: dt.date) -> dt.date:
    if isinstance(day, dt.datetime):
        day = day.date()
    first, last = supported_years()
    if not first <= day.year <= last:
        raise CalendarRangeError(
            f"{day.isoformat()} is outside the supported years {first}-{last} of the holiday calendar; "
            "upgrade the chinesecalendar package once the State Council publishes the next year's holidays"
        )
    return day


def is_working_day(day: dt.date) -> bool:
    """Whether government offices work on this day (weekends and holidays off, adjusted days on)."""
    return bool(is_workday(_check(day)))


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted; negative goes back)."""
    current = _check(start)
    step = dt.timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    while remaining:
        current = _check(current + step)
        if is_workday(current):
            remaining -= 1
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``; negative when ``end`` is earlier."""
    first, last = _check(start), _check(end)
    if last < first:
        return -working_days_between(last, first)
    count = 0
    current = first
    while current < last:
        current += dt.timedelta(days=1)
        if is_workday(current):
            count += 1
    return count
