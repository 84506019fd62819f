"""Safe intake of untrusted uploads: magic-byte detection, size limits, images and PDFs decoded into pages."""

from prereview.intake.detect import FileFormat, detect_format
from prereview.intake.intake import intake_file
from prereview.intake.limits import FileTooLarge, read_limited, read_limited_async, read_limited_sync
from prereview.intake.pdf import stop_pdf_pool, warm_pdf_pool

__all__ = [
    "FileFormat",
    "FileTooLarge",
    "detect_format",
    "intake_file",
    "read_limited",
    "read_limited_async",
    "read_limited_sync",
    "stop_pdf_pool",
    "warm_pdf_pool",
]
