"""Masking of personal numbers in what people see: ID numbers keep 4 + 4 characters, phones 3 + 4 digits."""

from __future__ import annotations

import re
from typing import Any

from hotline.logging_filters import mask_personal_numbers

_ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_id_number(number: str) -> str:
    """1101011990010112 34 → 1101**********1234 (short values are fully hidden)."""
    number = number.strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """13812345678 → 138****5678; other phone shapes keep only their last 4 digits."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_form(form: dict[str, Any]) -> dict[str, Any]:
    """The form with ID and phone numbers masked."""
    masked = dict(form)
    if masked.get("id_number"):
        masked["id_number"] = mask_id_number(str(masked["id_number"]))
    if masked.get("phone"):
        masked["phone"] = mask_phone(str(masked["phone"]))
    return masked


def mask_text(text: str) -> str:
    """Free text (finding messages, reasons, errors) with ID numbers as 1101**********1234 and phones masked."""
    return mask_personal_numbers(_ID_NUMBER_IN_TEXT.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(2)}", text))
