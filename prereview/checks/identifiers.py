"""Check digits of Chinese identifiers: resident ID (GB 11643) and unified social credit code (GB 32100)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")

# OCR confuses these glyphs with digits inside an 18-character ID number.
_ID_CONFUSIONS = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "i": "1", "|": "1",
                                "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8", "G": "6", "x": "X", "×": "X"})
_USCC_CONFUSIONS = str.maketrans({"O": "0", "o": "0", "I": "1", "i": "1", "l": "1", "Z": "2", "S": "5", "s": "5",
                                  "V": "U"})


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of a resident ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def uscc_check_char(first17: str) -> str:
    """The MOD 31 check character for the first 17 characters of a unified social credit code."""
    total = sum(USCC_CHARSET.index(char) * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def normalise_id_number(text: str) -> str:
    """Upper-case an ID number and undo common OCR confusions (O→0, l→1, x→X); spaces removed."""
    return re.sub(r"\s", "", text).translate(_ID_CONFUSIONS).upper()


def normalise_uscc(text: str) -> str:
    """Upper-case a USCC and undo OCR confusions with letters the code never uses (I O Z S V)."""
    return re.sub(r"\s", "", text).upper().translate(_USCC_CONFUSIONS)


@dataclass(frozen=True)
class IdNumberCheck:
    """Outcome of checking a resident ID number: ``problem`` is None when it is valid."""

    number: str
    birth_date: dt.date | None
    problem: str | None


def check_id_number(number: str) -> IdNumberCheck:
    """Validate shape, embedded birth date and check digit of an 18-character resident ID number."""
    normalised = normalise_id_number(number)
    if not _ID_SHAPE.match(normalised):
        return IdNumberCheck(normalised, None, f"应为 18 位（17 位数字加校验位），识别为 {len(normalised)} 位")
    try:
        birth = dt.date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))
    except ValueError:
        return IdNumberCheck(normalised, None, f"出生日期码 {normalised[6:14]} 不是有效日期")
    if birth.year < 1900:
        return IdNumberCheck(normalised, None, f"出生日期码 {normalised[6:14]} 早于 1900 年")
    expected = id_check_digit(normalised[:17])
    if normalised[17] != expected:
        return IdNumberCheck(normalised, birth, f"校验位应为 {expected}，实为 {normalised[17]}")
    return IdNumberCheck(normalised, birth, None)


def check_uscc(code: str) -> str | None:
    """None when the unified social credit code is valid, else the reason in Chinese."""
    normalised = normalise_uscc(code)
    if len(normalised) != 18:
        return f"应为 18 位，识别为 {len(normalised)} 位"
    bad = sorted({char for char in normalised if char not in USCC_CHARSET})
    if bad:
        return f"含有不允许的字符 {''.join(bad)}"
    expected = uscc_check_char(normalised[:17])
    if normalised[17] != expected:
        return f"校验位应为 {expected}，实为 {normalised[17]}"
    return None


def mask_id_number(number: str) -> str:
    """Resident ID number with the birth date and sequence hidden, for logs (110101********123X → 1101**…3X)."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]
