"""Parse the fixed date forms printed on Chinese documents: 2020年1月1日, 2020.01.01, 2020-01-01, ranges, 长期."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DATE = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?")
_RANGE = re.compile(
    r"(\d{4}\s*[年.\-/]\s*\d{1,2}\s*[月.\-/]\s*\d{1,2}\s*日?)\s*(?:-|—|–|至|~|到)+\s*"
    r"(长期|永久|\d{4}\s*[年.\-/]\s*\d{1,2}\s*[月.\-/]\s*\d{1,2}\s*日?)"
)


def parse_date(text: str) -> dt.date | None:
    """The first date in ``text`` (2020年1月1日, 2020.01.01, 2020-01-01, 2020/1/1), or None."""
    match = _DATE.search(text.replace("O", "0").replace("o", "0"))
    if not match:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


@dataclass(frozen=True)
class Validity:
    """A validity period; ``start`` None means no printed start (a bare 长期), ``end`` None means 长期."""

    start: dt.date | None
    end: dt.date | None

    def covers(self, day: dt.date) -> bool:
        """Whether the document is valid on ``day``."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def text(self) -> str:
        """The period in the dotted form, 2018.03.01-2038.03.01, 2018.03.01-长期 or 长期."""
        if self.start is None:
            return "长期"
        return f"{self.start:%Y.%m.%d}-{f'{self.end:%Y.%m.%d}' if self.end else '长期'}"


def parse_validity(text: str) -> Validity | None:
    """A validity range such as 2018.03.01-2038.03.01, 2018年3月1日至长期 or a bare 长期, or None."""
    match = _RANGE.search(text.replace("O", "0"))
    if not match:
        # A business licence with no fixed term may print only 长期 (or 永久).
        return Validity(None, None) if re.fullmatch(r"\W*(长期|永久)\W*", text.strip()) else None
    start = parse_date(match.group(1))
    if start is None:
        return None
    if match.group(2) in ("长期", "永久"):
        return Validity(start, None)
    end = parse_date(match.group(2))
    if end is None or end < start:
        return None
    return Validity(start, end)
