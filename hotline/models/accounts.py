"""Staff accounts: administrators and department clerks (citizens stay anonymous)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db.base import Base, utcnow


class Role(StrEnum):
    """What a signed-in staff member may do."""

    admin = "admin"
    clerk = "clerk"


class User(Base):
    """A staff member who signs in with a password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    department_links: Mapped[list[UserDepartment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def departments(self) -> list[str]:
        """Departments this user works for (clerks; empty for admins)."""
        return sorted(link.department for link in self.department_links)


class UserDepartment(Base):
    """A department a clerk works for."""

    __tablename__ = "user_departments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    department: Mapped[str] = mapped_column(String(200), primary_key=True)
    user: Mapped[User] = relationship(back_populates="department_links")
