"""JSON API shapes (``XRead``) around guides' ``Service``."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from guides import Service


class ServiceVersionRead(BaseModel):
    """One stored version of a service, without its content."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    version: int
    department: str
    name: str
    is_current: bool
    created_at: dt.datetime
    created_by: str | None


class ServiceRead(ServiceVersionRead):
    """One stored version with the full service."""

    service: Service


class ServicePage(BaseModel):
    """A page of current services."""

    items: list[ServiceVersionRead]
    total: int
    page: int
    page_size: int


class SearchHitRead(BaseModel):
    """A search result."""

    code: str
    name: str
    department: str
    score: float


class DepartmentRead(BaseModel):
    """A department and how many services it offers."""

    department: str
    services: int


class AuditEntryRead(BaseModel):
    """One audit log entry."""

    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    actor: str
    action: str
    target: str
    department: str | None


class MeRead(BaseModel):
    """The requester, and the CSRF token to send as ``X-CSRFToken`` with session-authenticated writes."""

    kind: str
    username: str | None
    departments: list[str]
    csrf_token: str


class ErrorBody(BaseModel):
    """The error object."""

    code: str
    message: str
    request_id: str | None = None


class ErrorRead(BaseModel):
    """Every API error: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorBody
