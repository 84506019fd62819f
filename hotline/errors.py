"""Errors the application turns into clear answers: a stable snake_case code, a status, a message."""

from __future__ import annotations


class HotlineError(Exception):
    """Base of every expected error; ``code`` is stable and greppable, ``message`` is for people."""

    code = "hotline_error"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(HotlineError):
    """Something asked for does not exist."""

    code = "not_found"
    status_code = 404


class ServiceNotFoundError(NotFoundError):
    """No service (or no such version of it) in the catalog."""

    code = "service_not_found"


class ValidationFailedError(HotlineError):
    """Submitted data does not validate."""

    code = "validation_failed"
    status_code = 422


class AuthenticationRequiredError(HotlineError):
    """The request needs a signed-in staff member."""

    code = "authentication_required"
    status_code = 401


class PermissionDeniedError(HotlineError):
    """The signed-in user may not do this."""

    code = "permission_denied"
    status_code = 403


class UserExistsError(HotlineError):
    """A username that is already taken."""

    code = "user_exists"
    status_code = 409
