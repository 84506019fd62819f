"""Document pre-review: intake, quality gate, OCR, material matching, field checks, report."""

from prereview.report import Finding, FindingCode, MaterialResult, Report

__all__ = ["Finding", "FindingCode", "MaterialResult", "Report"]
