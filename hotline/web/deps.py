"""Request dependencies: settings, database session, the signed-in principal and access rules."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from hotline.accounts import get_user
from hotline.db import session_scope
from hotline.errors import AuthenticationRequiredError, PermissionDeniedError
from hotline.models import Role, User
from hotline.settings import HotlineSettings

SESSION_USER_KEY = "user_id"
SESSION_CITIZEN_KEY = "citizen_id"


class PrincipalKind(StrEnum):
    """Who is making a request."""

    anonymous = "anonymous"
    citizen = "citizen"
    clerk = "clerk"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    """The requester: anonymous, a citizen's anonymous session, a clerk or an admin."""

    kind: PrincipalKind
    user: User | None = None
    citizen_id: str | None = None
    departments: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        """Whether a staff member is signed in."""
        return self.kind in (PrincipalKind.clerk, PrincipalKind.admin)

    @property
    def username(self) -> str | None:
        """The staff username, if any."""
        return self.user.username if self.user is not None else None

    def can_access_department(self, department: str) -> bool:
        """Admins reach every department; clerks only their own."""
        return self.kind is PrincipalKind.admin or (self.kind is PrincipalKind.clerk and department in self.departments)


def get_settings(request: Request) -> HotlineSettings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """A database session per request; committed if the handler succeeds, rolled back otherwise."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


def current_user(request: Request, db: DbSession) -> Principal:
    """The principal behind this request (never raises)."""
    user_id = request.session.get(SESSION_USER_KEY)
    if isinstance(user_id, int):
        user = get_user(db, user_id=user_id)
        if user is not None:
            if user.role == Role.admin:
                return Principal(kind=PrincipalKind.admin, user=user)
            return Principal(kind=PrincipalKind.clerk, user=user, departments=frozenset(user.departments))
        request.session.pop(SESSION_USER_KEY, None)
    citizen_id = request.session.get(SESSION_CITIZEN_KEY)
    if isinstance(citizen_id, str):
        return Principal(kind=PrincipalKind.citizen, citizen_id=citizen_id)
    return Principal(kind=PrincipalKind.anonymous)


CurrentPrincipal = Annotated[Principal, Depends(current_user)]


def citizen_session(request: Request, principal: CurrentPrincipal) -> Principal:
    """The principal, starting an anonymous citizen session for a first-time visitor."""
    if principal.kind is PrincipalKind.anonymous:
        citizen_id = secrets.token_urlsafe(16)
        request.session[SESSION_CITIZEN_KEY] = citizen_id
        return Principal(kind=PrincipalKind.citizen, citizen_id=citizen_id)
    return principal


def require_staff(principal: CurrentPrincipal) -> Principal:
    """A signed-in clerk or admin, else 401."""
    if not principal.is_staff:
        raise AuthenticationRequiredError("请先登录 / please sign in")
    return principal


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only signed-in users with one of ``roles``."""
    allowed = {PrincipalKind(role.value) for role in roles}

    def dependency(principal: Annotated[Principal, Depends(require_staff)]) -> Principal:
        if principal.kind not in allowed:
            raise PermissionDeniedError("无权执行此操作 / permission denied")
        return principal

    return dependency


def ensure_department_access(principal: Principal, department: str) -> None:
    """Raise 401/403 unless ``principal`` may read and change ``department``'s data."""
    if not principal.is_staff:
        raise AuthenticationRequiredError("请先登录 / please sign in")
    if not principal.can_access_department(department):
        raise PermissionDeniedError("无权访问该部门的数据 / no access to this department")


def require_department_access(department: str) -> Callable[[Principal], Principal]:
    """A dependency admitting admins and clerks of ``department`` (for fixed-department routes)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        ensure_department_access(principal, department)
        return principal

    return dependency


RequireStaff = Annotated[Principal, Depends(require_staff)]
RequireAdmin = Annotated[Principal, Depends(require_role(Role.admin))]
