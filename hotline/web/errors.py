"""Error answers: JSON ``{"error": {...}}`` for the API, Chinese HTML pages for people, never a traceback."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.errors import HotlineError

logger = logging.getLogger("hotline.web")

HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "upload_too_large",
    422: "validation_failed",
}

TITLES = {
    400: "请求有误 / Bad request",
    401: "请先登录 / Please sign in",
    403: "无权访问 / Forbidden",
    404: "页面不存在 / Not found",
    405: "不支持的操作 / Method not allowed",
    413: "上传文件过大 / Upload too large",
    422: "提交的内容有误 / Invalid input",
    500: "系统暂时无法处理 / Something went wrong",
}


def request_id(request: Request) -> str:
    """The id of this request (also sent as the X-Request-ID header)."""
    return getattr(request.state, "request_id", "-")


def wants_json(request: Request) -> bool:
    """API paths and clients that ask for JSON get JSON errors; browsers get pages."""
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request, *, status_code: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> Response:
    """The error answer in the form the client wants."""
    if wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id(request)}
        if extra:
            body.update(extra)
        return JSONResponse({"error": body}, status_code=status_code)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": TITLES.get(status_code, TITLES[400] if status_code < 500 else TITLES[500]),
            "code": code,
            "message": message,
            "status_code": status_code,
            "request_id": request_id(request),
        },
        status_code=status_code,
    )


async def _hotline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HotlineError)
    if exc.status_code == 401 and not wants_json(request):
        return _redirect_to_login(request)
    return error_response(request, status_code=exc.status_code, code=exc.code, message=exc.message)


def _redirect_to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Response(status_code=303, headers={"location": f"/login?next={quote(target, safe='')}"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
    if exc.status_code == 404:
        message = "页面不存在 / not found"
    elif exc.status_code == 405:
        message = "不支持的请求方法 / method not allowed"
    response = error_response(request, status_code=exc.status_code, code=code, message=message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(p) for p in error["loc"]), "message": str(error["msg"])} for error in exc.errors()
    ]
    first = problems[0] if problems else {"field": "", "message": "invalid"}
    return error_response(
        request,
        status_code=422,
        code="validation_failed",
        message=f"{first['field']}: {first['message']}",
        extra={"fields": problems},
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error, request_id=%s path=%s", request_id(request), request.url.path)
    return error_response(
        request,
        status_code=500,
        code="internal_error",
        message="系统暂时无法处理您的请求，请稍后再试或拨打 12345。/ Please try again later.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every error handler on ``app``."""
    app.add_exception_handler(HotlineError, _hotline_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def send_csrf_failed(scope: Scope, send: Send, message_id: object) -> None:
    """asgi-csrf's failure answer, as our JSON error shape."""
    body = json.dumps(
        {"error": {"code": "csrf_failed", "message": "表单已过期，请刷新页面后重试 / CSRF check failed"}},
        ensure_ascii=False,
    ).encode("utf-8")
    await send({"type": "http.response.start", "status": 403, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class RequestIdMiddleware:
    """Gives each request an id (kept from X-Request-ID when sane), returned in a header with security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1")), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_id)


class UploadLimitMiddleware:
    """Answers 413 to request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = json.dumps(
            {"error": {"code": "upload_too_large", "message": "上传内容超过大小限制 / upload too large"}},
            ensure_ascii=False,
        ).encode("utf-8")
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._reject(send)


class _BodyTooLarge(Exception):
    pass
