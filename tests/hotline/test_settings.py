"""Settings: secrets outside development, the generated development secret, the default database."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hotline.settings import HotlineSettings


def test_secret_key_required_outside_development(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HOTLINE_SECRET_KEY is required"):
        HotlineSettings(environment="production", data_dir=tmp_path)


def test_short_secret_key_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        HotlineSettings(environment="production", secret_key="short", data_dir=tmp_path)


def test_development_secret_generated_once_and_kept(tmp_path: Path) -> None:
    settings = HotlineSettings(environment="development", data_dir=tmp_path)
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert HotlineSettings(environment="development", data_dir=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = HotlineSettings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'hotline.sqlite3').resolve()}"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_MAX_UPLOAD_MB", "7")
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "s" * 40)
    settings = HotlineSettings()
    assert settings.max_upload_mb == 7
    assert settings.resolved_secret_key() == "s" * 40
