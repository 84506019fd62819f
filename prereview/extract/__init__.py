"""Field extraction from OCR lines, and the Chinese date forms printed on documents."""

from prereview.extract.dates import Validity, parse_date, parse_validity
from prereview.extract.fields import canonical_fields, extract_fields, find_id_number

__all__ = ["Validity", "canonical_fields", "extract_fields", "find_id_number", "parse_date", "parse_validity"]
