"""Logging that never shows a resident ID number or a phone number in full."""

from __future__ import annotations

import logging
import re

# 18-digit resident ID (last char may be X), mainland mobile numbers, and landlines with area code.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?)\d{3,4}(\d{4})(?!\d)")


def mask_personal_numbers(text: str) -> str:
    """Mask resident ID numbers and phone numbers, keeping a few digits for support staff."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def _mask_value(value: object) -> object:
    return mask_personal_numbers(value) if isinstance(value, str) else _mask_repr(value)


class MaskPersonalNumbersFilter(logging.Filter):
    """Masks ID and phone numbers in a record's message and arguments (keeping their shape for formatters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_personal_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_value(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _mask_value(value) for key, value in record.args.items()}
        return True


def _mask_repr(value: object) -> object:
    """Non-string arguments (numbers, objects) are masked through their text only if they contain a number."""
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = str(value)
    masked = mask_personal_numbers(text)
    return masked if masked != text else value


# Loggers that uvicorn writes to directly (they do not propagate to the root handler).
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``; every hotline and server log line passes the masking filter (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskPersonalNumbersFilter) for f in logger.filters):
            logger.addFilter(MaskPersonalNumbersFilter())
    if any(isinstance(f, MaskPersonalNumbersFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(MaskPersonalNumbersFilter())
    root.addHandler(handler)
