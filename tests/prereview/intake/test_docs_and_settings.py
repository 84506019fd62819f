"""The intake settings and findings are documented, and the settings read PREREVIEW_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from prereview.intake.pdf import _worker_config
from prereview.settings import PrereviewSettings

DOC = Path(__file__).resolve().parents[3] / "docs" / "prereview-intake.md"
INTAKE_SETTINGS = {"max_file_mb", "pdf_pool_workers", "pdf_worker_max_files", *_worker_config(PrereviewSettings())}
INTAKE_CODES = [
    "unsupported_file",
    "file_too_large",
    "too_many_pages",
    "image_too_large",
    "encrypted_pdf",
    "broken_file",
    "processing_timeout",
    "unreadable_page",
]


def test_every_intake_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert INTAKE_SETTINGS <= set(PrereviewSettings.model_fields)
    missing = sorted(name for name in INTAKE_SETTINGS if f"| `{name}` |" not in text)
    assert not missing, f"settings missing from {DOC.name}: {missing}"


def test_every_intake_finding_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [code for code in INTAKE_CODES if f"| `{code}` |" not in text]
    assert not missing, f"finding codes missing from {DOC.name}: {missing}"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREREVIEW_MAX_PAGES", "3")
    monkeypatch.setenv("PREREVIEW_MAX_FILE_MB", "1.5")
    settings = PrereviewSettings()
    assert settings.max_pages == 3
    assert settings.max_file_bytes == 1_572_864


def test_nonsense_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        PrereviewSettings(max_pages=0)
    with pytest.raises(ValueError):
        PrereviewSettings(pdf_memory_mb=16)
