"""Catalog storage: versions are immutable, edits add a version, the current flag moves."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guides import load_demo_catalog
from hotline.catalog import (
    edit_service,
    get_service_version,
    list_audit,
    list_current_services,
    list_departments,
    list_versions,
    service_from_row,
    store_services,
)
from hotline.db import session_scope
from hotline.errors import ServiceNotFoundError, ValidationFailedError
from hotline.models import ServiceVersion


@pytest.fixture
def catalog(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_scope(session_factory) as session:
        store_services(session, services=load_demo_catalog(), actor=None)
    return session_factory


def test_edit_creates_next_version_and_keeps_the_old_one(catalog: sessionmaker[Session]) -> None:
    with session_scope(catalog) as session:
        before = service_from_row(get_service_version(session, code="mzj-jhdj"))
        row = edit_service(session, code="mzj-jhdj", changes={"name": "结婚登记（新）"}, actor="admin1")
        assert row.version == 2
    with session_scope(catalog) as session:
        assert get_service_version(session, code="mzj-jhdj").name == "结婚登记（新）"
        old = service_from_row(get_service_version(session, code="mzj-jhdj", version=1))
        assert old == before
        assert [r.version for r in list_versions(session, code="mzj-jhdj")] == [2, 1]
        assert (
            session.scalar(
                select(func.count()).where(ServiceVersion.code == "mzj-jhdj", ServiceVersion.is_current.is_(True))
            )
            == 1
        )
        entry = list_audit(session, departments=["民政局"], limit=1)[0]
        assert (entry.actor, entry.action, entry.target) == ("admin1", "service_edited", "service:mzj-jhdj")


def test_stored_service_carries_its_version_number(catalog: sessionmaker[Session]) -> None:
    with session_scope(catalog) as session:
        edit_service(session, code="mzj-jhdj", changes={"aliases": ["结婚证"]}, actor="a")
        assert service_from_row(get_service_version(session, code="mzj-jhdj")).version == 2


def test_invalid_edit_names_the_field_and_stores_nothing(catalog: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationFailedError, match="time_limit"):
        with session_scope(catalog) as session:
            edit_service(
                session,
                code="mzj-jhdj",
                changes={"time_limit": {"legal_working_days": 1, "promised_working_days": 5}},
                actor="a",
            )
    with session_scope(catalog) as session:
        assert get_service_version(session, code="mzj-jhdj").version == 1


def test_code_cannot_change(catalog: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationFailedError, match="code"), session_scope(catalog) as session:
        edit_service(session, code="mzj-jhdj", changes={"code": "other"}, actor="a")


def test_unknown_service_and_version(catalog: sessionmaker[Session]) -> None:
    with session_scope(catalog) as session:
        with pytest.raises(ServiceNotFoundError):
            get_service_version(session, code="nope")
        with pytest.raises(ServiceNotFoundError):
            get_service_version(session, code="mzj-jhdj", version=9)


def test_departments_and_listing(catalog: sessionmaker[Session]) -> None:
    demo = load_demo_catalog()
    with session_scope(catalog) as session:
        departments = dict(list_departments(session))
        assert sum(departments.values()) == len(demo)
        assert {row.department for row in list_current_services(session, department="民政局")} == {"民政局"}


def test_code_repeated_in_one_batch_gets_two_versions(session_factory: sessionmaker[Session]) -> None:
    service = load_demo_catalog()[0]
    renamed = service.model_copy(update={"name": "改名"})
    with session_scope(session_factory) as session:
        assert store_services(session, services=[service, renamed], actor="import") == 2
    with session_scope(session_factory) as session:
        current = get_service_version(session, code=service.code)
        assert (current.version, current.name) == (2, "改名")
        assert not get_service_version(session, code=service.code, version=1).is_current
