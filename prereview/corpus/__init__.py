"""Synthetic application corpus (demo content and benchmark data), seeded and with exact ground truth."""

from prereview.corpus.generate import (
    DEFECTS,
    SERVICES,
    UnknownDefectError,
    applicable_defects,
    generate_application,
    generate_corpus,
)

__all__ = [
    "DEFECTS",
    "SERVICES",
    "UnknownDefectError",
    "applicable_defects",
    "generate_application",
    "generate_corpus",
]
