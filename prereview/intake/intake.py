"""The intake entry point: one uploaded file in, pages and findings out; no exception escapes."""

from __future__ import annotations

import logging
import re
import time

from prereview.intake import findings
from prereview.intake.detect import FileFormat, describe_magic, detect_format
from prereview.intake.images import decode_image
from prereview.intake.pdf import decode_pdf
from prereview.pages import IntakeResult
from prereview.settings import PrereviewSettings

logger = logging.getLogger(__name__)

_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_personal_numbers(text: str) -> str:
    """Resident ID and mobile numbers masked (file names often carry them), for log lines."""
    return _MOBILE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1********\2", text))


def intake_file(*, name: str, data: bytes, settings: PrereviewSettings) -> IntakeResult:
    """Decode one uploaded file into pages; every problem becomes a finding on the result."""
    started = time.perf_counter()
    fmt = detect_format(data)
    result = IntakeResult(file=name, media_type=fmt.value if fmt is not None else None)
    if len(data) > settings.max_file_bytes:
        result.findings.append(
            findings.file_too_large(file=name, size_bytes=len(data), max_bytes=settings.max_file_bytes)
        )
    elif not data:
        result.findings.append(findings.empty_file(file=name))
    elif fmt is None:
        result.findings.append(findings.unsupported_file(file=name, detail=describe_magic(data)))
    else:
        try:
            if fmt is FileFormat.pdf:
                decoded = decode_pdf(name=name, data=data, settings=settings)
            else:
                decoded = decode_image(name=name, data=data, fmt=fmt, settings=settings)
            result.pages.extend(decoded.pages)
            result.findings.extend(decoded.findings)
        except Exception as exc:  # last line of defence: a decoder bug must not become a 500
            logger.exception("intake of %s failed unexpectedly", mask_personal_numbers(name))
            result.findings.append(findings.broken_file(file=name, detail=f"unexpected {type(exc).__name__}"))
    logger.info(
        "intake %s (%s, %d bytes): %d pages, findings %s in %.0f ms",
        mask_personal_numbers(name),
        result.media_type,
        len(data),
        len(result.pages),
        [f.code.value for f in result.findings] or "none",
        (time.perf_counter() - started) * 1000,
    )
    return result
