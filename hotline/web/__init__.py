"""The web layer: app factory, routes per area, request dependencies, error pages."""

from hotline.web.app import create_app
from hotline.web.deps import (
    Principal,
    PrincipalKind,
    current_user,
    ensure_department_access,
    require_department_access,
    require_role,
    require_staff,
)

__all__ = [
    "Principal",
    "PrincipalKind",
    "create_app",
    "current_user",
    "ensure_department_access",
    "require_department_access",
    "require_role",
    "require_staff",
]
