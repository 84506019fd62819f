"""Staff sign-in and sign-out (session cookie; the form carries the CSRF token)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hotline.accounts import authenticate, recent_failed_logins, record_failed_login
from hotline.models import AuditLog
from hotline.web.deps import SESSION_USER_KEY, CurrentPrincipal, DbSession
from hotline.web.templating import render

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("hotline.auth")


def _safe_next(url: str) -> str:
    """Only same-site paths are allowed as a post-login destination."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/console"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, principal: CurrentPrincipal, next: str = "/console") -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", principal=principal, title="工作人员登录", next_url=_safe_next(next))


@router.post("/login", response_model=None)
def login_submit(
    request: Request,
    db: DbSession,
    principal: CurrentPrincipal,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "/console",
) -> HTMLResponse | RedirectResponse:
    """Check the password; on success start a fresh session. Too many failures lock the username for a while."""
    settings = request.app.state.settings
    if recent_failed_logins(db, username=username, window_s=settings.login_lockout_s) >= settings.login_max_failures:
        logger.warning("sign-in refused for %r: too many failed attempts", username)
        return render(
            request,
            "login.html",
            principal=principal,
            title="工作人员登录",
            status_code=429,
            error=f"登录失败次数过多，请 {max(1, settings.login_lockout_s // 60)} 分钟后再试 / Too many attempts",
            username=username,
            next_url=_safe_next(next),
        )
    user = authenticate(db, username=username, password=password)
    if user is None:
        logger.info("failed sign-in for %r", username)
        record_failed_login(db, username=username)
        return render(
            request,
            "login.html",
            principal=principal,
            title="工作人员登录",
            status_code=401,
            error="用户名或密码错误 / Wrong username or password",
            username=username,
            next_url=_safe_next(next),
        )
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    db.add(AuditLog(actor=user.username, action="signed_in", target=f"user:{user.username}", detail={}))
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", response_model=None)
def logout(request: Request, principal: CurrentPrincipal) -> RedirectResponse:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/", status_code=303)
