"""Checks on extracted fields: identifier check digits, validity, cross-material consistency, seals, signatures."""

from prereview.checks.identifiers import check_id_number, check_uscc, mask_id_number

__all__ = ["check_id_number", "check_uscc", "mask_id_number"]
