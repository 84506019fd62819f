"""Synthetic application corpus (demo content and benchmark data), seeded and with exact ground truth."""

from prereview.corpus.generate import (
    DEFECTS,
    SERVICES,
    UnknownDefectError,
    applicable_defects,
    generate_application,
    generate_corpus,
)
from prereview.corpus.pdf import text_pdf

__all__ = [
    "DEFECTS",
    "SERVICES",
    "UnknownDefectError",
    "applicable_defects",
    "generate_application",
    "generate_corpus",
    "text_pdf",
]
