"""Catalog storage: every version of every service, the current one flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db.base import Base, utcnow


class ServiceVersion(Base):
    """One immutable version of a service; editing a service adds a row with version + 1."""

    __tablename__ = "service_versions"
    __table_args__ = (
        UniqueConstraint("code", "version", name="uq_service_versions_code_version"),
        Index("ix_service_versions_department_current", "department", "is_current"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
