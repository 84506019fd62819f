"""Settings of the hotline application, read from ``HOTLINE_*`` environment variables."""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where the application runs; development relaxes the secret-key rule and creates a demo admin."""

    development = "development"
    test = "test"
    production = "production"


class HotlineSettings(BaseSettings):
    """Every setting of the hotline application; each is documented in docs/operations.md."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=None, extra="ignore")

    environment: Environment = Environment.development
    data_dir: Path = Field(default=Path("var"), description="Where the SQLite database and dev secret live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in data_dir if unset")
    secret_key: str | None = Field(default=None, min_length=32, description="Signs sessions and CSRF tokens")
    session_max_age_s: int = Field(default=8 * 3600, ge=60)
    session_cookie_secure: bool = False
    login_max_failures: int = Field(default=5, ge=1, description="Failed sign-ins allowed per username per window")
    login_lockout_s: int = Field(default=900, ge=1, description="Window (and lockout) for failed sign-ins")
    intent_registry_dir: Path | None = Field(
        default=None, description="Federated model registry the hotline serves the promoted intent model from"
    )
    max_upload_mb: int = Field(default=20, ge=1, le=1024)
    upload_retention_days: int = Field(
        default=30, ge=0, le=36500,
        description="Days after a submission is closed before its files and page images are deleted (0: keep)",
    )
    upload_purge_interval_s: int = Field(
        default=86400, ge=60, description="How often the job queue runs the upload purge"
    )
    log_level: str = "INFO"
    page_size: int = Field(default=50, ge=1, le=500)
    search_limit: int = Field(default=20, ge=1, le=200)
    search_warmup: bool = Field(default=True, description="Build the search index in the background at startup")
    index_full_list_max: int = Field(default=300, ge=0, description="Above this many services / lists departments")

    @model_validator(mode="after")
    def _secret_outside_development(self) -> HotlineSettings:
        if self.secret_key is None and self.environment is not Environment.development:
            raise ValueError(f"HOTLINE_SECRET_KEY is required when HOTLINE_ENVIRONMENT={self.environment}")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hotline.sqlite3').resolve()}"

    @property
    def resolved_intent_registry_dir(self) -> Path:
        """The intent model registry, defaulting to ``data_dir/intent-registry``."""
        return self.intent_registry_dir or self.data_dir / "intent-registry"

    def resolved_secret_key(self) -> str:
        """The configured secret, or a development secret generated once and kept in ``data_dir``."""
        if self.secret_key is not None:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret, encoding="utf-8")
        path.chmod(0o600)
        return secret
