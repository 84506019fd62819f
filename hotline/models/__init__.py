"""SQLAlchemy models of the hotline application, one module per area, all on one ``Base``."""

from hotline.models.accounts import Role, User, UserDepartment
from hotline.models.audit import AuditLog
from hotline.models.catalog import ServiceVersion

__all__ = ["AuditLog", "Role", "ServiceVersion", "User", "UserDepartment"]
