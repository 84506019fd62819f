"""The FastAPI application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_csrf import asgi_csrf
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.sessions import SessionMiddleware

from guides import static_dir as guides_static_dir
from hotline.db import create_db_engine, create_session_factory
from hotline.logging_filters import configure_logging
from hotline.intent import IntentRouter
from hotline.search import CatalogSearch
from hotline.settings import HotlineSettings
from hotline.submissions import router as submissions_router
from hotline.web.errors import RequestIdMiddleware, UploadLimitMiddleware, install_error_handlers, send_csrf_failed
from hotline.web.routes import admin, api, auth, intent, pages
from hotline.web.templating import GUIDES_STATIC_URL, create_templates

SESSION_COOKIE = "hotline_session"
CSRF_COOKIE = "csrftoken"
logger = logging.getLogger("hotline.web")


def _warm_search(app: FastAPI) -> None:
    """Build the search index in the background at startup."""
    try:
        with app.state.session_factory() as session:
            size = app.state.search.warm(session)
        logger.info("search index ready: %d services", size)
    except SQLAlchemyError as exc:
        logger.warning("search index not built at startup: %s", exc)


def create_app(settings: HotlineSettings | None = None) -> FastAPI:
    """Build the web application: database, sessions, CSRF, templates, routes and error pages."""
    settings = settings or HotlineSettings()
    configure_logging(settings.log_level)
    engine = create_db_engine(settings.resolved_database_url)
    secret_key = settings.resolved_secret_key()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.search_warmup:
            threading.Thread(target=_warm_search, args=(app,), name="search-warmup", daemon=True).start()
        yield
        engine.dispose()

    app = FastAPI(
        title="12345 热线 / 12345 Citizen Hotline",
        version="1",
        description="办事指南目录与接口 / Service catalog and API",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.templates = create_templates()
    app.state.search = CatalogSearch()
    app.state.intent = IntentRouter(settings.resolved_intent_registry_dir)

    app.include_router(pages.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(api.router)
    app.include_router(intent.router)
    app.include_router(submissions_router)
    app.mount(GUIDES_STATIC_URL.rstrip("/"), StaticFiles(directory=guides_static_dir()), name="guides_static")
    app.mount("/static/hotline", StaticFiles(packages=[("hotline", "static")]), name="static")
    install_error_handlers(app)

    # Outermost last: request id → upload limit → session → CSRF → app.
    app.add_middleware(
        asgi_csrf,
        signing_secret=secret_key,
        cookie_name=CSRF_COOKIE,
        cookie_secure=settings.session_cookie_secure,
        send_csrf_failed=send_csrf_failed,
        # asgi-csrf cannot parse multipart bodies with current python-multipart (simonw/asgi-csrf#38);
        # the upload form streams its body and checks its own csrftoken field against the cookie.
        skip_if_scope=lambda scope: scope["path"].startswith("/apply/"),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.session_cookie_secure,
    )
    app.add_middleware(UploadLimitMiddleware, max_bytes=settings.max_upload_mb * 1024 * 1024)
    app.add_middleware(RequestIdMiddleware)
    return app
