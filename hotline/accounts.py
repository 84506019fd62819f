"""Staff accounts service: create users, check passwords (argon2 via pwdlib)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db.base import utcnow
from hotline.errors import NotFoundError, UserExistsError, ValidationFailedError
from hotline.models import AuditLog, Role, User, UserDepartment

FAILED_LOGIN_ACTION = "sign_in_failed"
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD_LENGTH = 10


def password_hasher() -> PasswordHash:
    """The argon2 password hasher."""
    return PasswordHash((Argon2Hasher(),))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    departments: Sequence[str] = (),
    actor: str = "system",
    hasher: PasswordHash | None = None,
) -> User:
    """Create a staff account; clerks need at least one department, admins none."""
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailedError("用户名须为 3–64 位字母、数字、_ . - / username: 3-64 of A-Z a-z 0-9 _ . -")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailedError(f"密码至少 {MIN_PASSWORD_LENGTH} 位 / password too short")
    cleaned = sorted({d.strip() for d in departments if d.strip()})
    if role is Role.clerk and not cleaned:
        raise ValidationFailedError("科室人员须至少指定一个部门 / a clerk needs at least one --department")
    if role is Role.admin and cleaned:
        raise ValidationFailedError("管理员不属于部门 / an admin has no --department")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserExistsError(f"用户 {username} 已存在 / user already exists")
    user = User(
        username=username,
        password_hash=(hasher or password_hasher()).hash(password),
        role=role.value,
        department_links=[UserDepartment(department=d) for d in cleaned],
    )
    session.add(user)
    session.add(AuditLog(actor=actor, action="user_created", target=f"user:{username}", detail={"role": role.value}))
    session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str, hasher: PasswordHash | None = None) -> User | None:
    """The active user with this username and password, else None (same work either way)."""
    hasher = hasher or password_hasher()
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        hasher.verify(password, _DUMMY_HASH.get(hasher))
        return None
    return user if hasher.verify(password, user.password_hash) else None


class _DummyHash:
    """A hash to verify against for unknown users, so timing does not reveal which usernames exist."""

    def __init__(self) -> None:
        self._value: str | None = None

    def get(self, hasher: PasswordHash) -> str:
        if self._value is None:
            self._value = hasher.hash("not-a-real-password")
        return self._value


_DUMMY_HASH = _DummyHash()


def list_users(session: Session) -> list[User]:
    """Every staff account, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def set_user_active(session: Session, *, username: str, active: bool, actor: str = "system") -> User:
    """Enable or disable sign-in for ``username`` (accounts are never deleted, so the audit log stays meaningful)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"用户 {username} 不存在 / no such user", code="user_not_found")
    user.is_active = active
    session.add(
        AuditLog(
            actor=actor, action="user_enabled" if active else "user_disabled", target=f"user:{username}", detail={}
        )
    )
    return user


def record_failed_login(session: Session, *, username: str) -> None:
    """Audit a failed sign-in (counted by ``recent_failed_logins``)."""
    session.add(AuditLog(actor=username[:64], action=FAILED_LOGIN_ACTION, target=f"user:{username[:58]}", detail={}))


def recent_failed_logins(session: Session, *, username: str, window_s: int) -> int:
    """Failed sign-ins for ``username`` within the last ``window_s`` seconds."""
    since = utcnow() - dt.timedelta(seconds=window_s)
    return (
        session.scalar(
            select(func.count()).where(
                AuditLog.action == FAILED_LOGIN_ACTION,
                AuditLog.target == f"user:{username[:58]}",
                AuditLog.at >= since,
            )
        )
        or 0
    )


def get_user(session: Session, *, user_id: int) -> User | None:
    """The active user with this id, or None."""
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None
