"""``hotline setup``: migrate the database, load the demo catalog once, create a development admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from guides import load_demo_catalog
from hotline.accounts import create_user
from hotline.catalog import count_services, store_services
from hotline.db import session_scope, upgrade_database
from hotline.intent import bootstrap_intent_model
from hotline.models import Role, User
from hotline.settings import Environment, HotlineSettings

DEV_ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class SetupResult:
    """What ``run_setup`` did."""

    services_loaded: int
    admin_password: str | None
    intent_model: str


def run_setup(*, settings: HotlineSettings, session_factory: sessionmaker[Session]) -> SetupResult:
    """Idempotent setup: schema at head, demo catalog and bootstrap intent model if absent, dev admin in development."""
    bind = session_factory.kw["bind"]
    upgrade_database(bind)
    loaded = 0
    admin_password: str | None = None
    with session_scope(session_factory) as session:
        if count_services(session) == 0:
            loaded = store_services(session, services=load_demo_catalog(), actor=None)
        if (
            settings.environment is Environment.development
            and session.scalar(select(User).where(User.role == Role.admin.value)) is None
        ):
            admin_password = secrets.token_urlsafe(12)
            create_user(session, username=DEV_ADMIN_USERNAME, password=admin_password, role=Role.admin, actor="setup")
    intent_status = bootstrap_intent_model(registry_dir=settings.resolved_intent_registry_dir)
    return SetupResult(services_loaded=loaded, admin_password=admin_password, intent_model=intent_status)
