"""Catalog storage service: store services as immutable versions, read current and past versions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from guides import Service, ServiceType
from hotline.errors import ServiceNotFoundError, ValidationFailedError
from hotline.models import AuditLog, ServiceVersion


def service_from_row(row: ServiceVersion) -> Service:
    """The ``guides.Service`` a stored version holds."""
    return Service.model_validate(row.data)


def parse_service(data: dict[str, Any]) -> Service:
    """Validate submitted service data, raising ``ValidationFailedError`` naming the first bad field."""
    try:
        return Service.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(root)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValidationFailedError(f"{field}: {message}") from None


def _new_version_rows(
    session: Session, *, services: list[Service], actor: str | None, action: str
) -> list[ServiceVersion]:
    """Add each service as the new current version of its code (one round trip per step, not per service)."""
    codes = sorted({service.code for service in services})
    latest: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found = session.execute(
            select(ServiceVersion.code, func.max(ServiceVersion.version))
            .where(ServiceVersion.code.in_(chunk))
            .group_by(ServiceVersion.code)
        )
        latest.update((code, version) for code, version in found)
        session.execute(
            update(ServiceVersion)
            .where(ServiceVersion.code.in_(chunk), ServiceVersion.is_current.is_(True))
            .values(is_current=False)
        )
    last_position = {service.code: position for position, service in enumerate(services)}
    rows: list[ServiceVersion] = []
    for position, service in enumerate(services):
        version = latest.get(service.code, 0) + 1
        latest[service.code] = version
        stored = service.model_copy(update={"version": version})
        rows.append(
            ServiceVersion(
                code=service.code,
                version=version,
                department=service.department,
                name=service.name,
                data=stored.model_dump(mode="json"),
                created_by=actor,
                is_current=last_position[service.code] == position,
            )
        )
        session.add(
            AuditLog(
                actor=actor or "system",
                action=action,
                target=f"service:{service.code}",
                department=service.department,
                detail={"version": version},
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def store_service_version(
    session: Session, *, service: Service, actor: str | None, action: str = "service_version_created"
) -> ServiceVersion:
    """Store ``service`` as the new current version of its code (version = latest + 1) and audit it."""
    return _new_version_rows(session, services=[service], actor=actor, action=action)[0]


def edit_service(session: Session, *, code: str, changes: dict[str, Any], actor: str) -> ServiceVersion:
    """Apply field ``changes`` to the current version of ``code`` and store the result as a new version."""
    current = service_from_row(get_service_version(session, code=code))
    unknown = set(changes) - set(Service.model_fields)
    if unknown:
        raise ValidationFailedError(f"未知字段 / unknown fields: {', '.join(sorted(unknown))}")
    if changes.get("code", code) != code:
        raise ValidationFailedError("code: 事项编码不可修改 / the code of a service cannot change")
    data = current.model_dump(mode="json")
    data.update({key: value for key, value in changes.items() if key != "version"})
    return store_service_version(session, service=parse_service(data), actor=actor, action="service_edited")


def list_audit(session: Session, *, departments: Iterable[str] | None = None, limit: int = 50) -> list[AuditLog]:
    """Latest audit entries, newest first; only these departments' when given."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if departments is not None:
        query = query.where(AuditLog.department.in_(list(departments)))
    return list(session.scalars(query))


def store_services(session: Session, *, services: Iterable[Service], actor: str | None) -> int:
    """Store each service as a new version; returns how many were stored."""
    return len(_new_version_rows(session, services=list(services), actor=actor, action="service_imported"))


def get_service_version(session: Session, *, code: str, version: int | None = None) -> ServiceVersion:
    """The current version of ``code``, or the given version; ``ServiceNotFoundError`` if absent."""
    query = select(ServiceVersion).where(ServiceVersion.code == code)
    if version is None:
        query = query.where(ServiceVersion.is_current.is_(True))
    else:
        query = query.where(ServiceVersion.version == version)
    row = session.scalar(query)
    if row is None:
        suffix = f" 版本 {version}" if version is not None else ""
        raise ServiceNotFoundError(f"未找到事项 {code}{suffix} / service not found")
    return row


def list_versions(session: Session, *, code: str) -> list[ServiceVersion]:
    """Every version of ``code``, newest first; ``ServiceNotFoundError`` if there is none."""
    rows = list(
        session.scalars(
            select(ServiceVersion).where(ServiceVersion.code == code).order_by(ServiceVersion.version.desc())
        )
    )
    if not rows:
        raise ServiceNotFoundError(f"未找到事项 {code} / service not found")
    return rows


@dataclass(frozen=True)
class ServiceSummary:
    """What listings show of a current service, read without loading its full content."""

    code: str
    name: str
    department: str
    version: int
    service_type: ServiceType


def list_current_services(
    session: Session, *, department: str | None = None, offset: int = 0, limit: int | None = None
) -> list[ServiceVersion]:
    """Current versions, by department then name; only ``department``'s when given; a slice when asked."""
    query = select(ServiceVersion).where(ServiceVersion.is_current.is_(True))
    if department is not None:
        query = query.where(ServiceVersion.department == department)
    query = query.order_by(ServiceVersion.department, ServiceVersion.name, ServiceVersion.code).offset(offset)
    return list(session.scalars(query if limit is None else query.limit(limit)))


def list_service_summaries(session: Session, *, department: str | None = None) -> list[ServiceSummary]:
    """Current services as summaries (only the service type is read from the stored JSON)."""
    service_type = ServiceVersion.data["service_type"].as_string()
    query = select(
        ServiceVersion.code, ServiceVersion.name, ServiceVersion.department, ServiceVersion.version, service_type
    ).where(ServiceVersion.is_current.is_(True))
    if department is not None:
        query = query.where(ServiceVersion.department == department)
    rows = session.execute(query.order_by(ServiceVersion.department, ServiceVersion.name, ServiceVersion.code))
    return [
        ServiceSummary(code=code, name=name, department=dept, version=version, service_type=ServiceType(kind))
        for code, name, dept, version, kind in rows
    ]


def list_departments(session: Session) -> list[tuple[str, int]]:
    """Departments with their number of current services, by name."""
    rows = session.execute(
        select(ServiceVersion.department, func.count())
        .where(ServiceVersion.is_current.is_(True))
        .group_by(ServiceVersion.department)
        .order_by(ServiceVersion.department)
    )
    return [(department, count) for department, count in rows]


def catalog_revision(session: Session) -> int:
    """A number that changes whenever a version is added (for caching the search index)."""
    return session.scalar(select(func.coalesce(func.max(ServiceVersion.id), 0))) or 0


def count_services(session: Session, *, department: str | None = None) -> int:
    """How many services (codes) the catalog holds, or ``department`` offers."""
    query = select(func.count()).where(ServiceVersion.is_current.is_(True))
    if department is not None:
        query = query.where(ServiceVersion.department == department)
    return session.scalar(query) or 0
