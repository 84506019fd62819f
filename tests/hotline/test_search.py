"""Catalog search: the index follows catalog edits, in the background without blocking searches."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session, sessionmaker

from guides import Service
from hotline.catalog import edit_service, store_services
from hotline.db import session_scope
from hotline.search import CatalogSearch


def _names(search: CatalogSearch, factory: sessionmaker[Session], query: str) -> list[str]:
    with factory() as session:
        return [hit.service.name for hit in search.search(session, query=query, limit=3)]


def test_foreground_index_follows_edits(session_factory: sessionmaker[Session], demo_services: list[Service]) -> None:
    with session_scope(session_factory) as session:
        store_services(session, services=demo_services, actor=None)
    search = CatalogSearch(background=False)
    assert _names(search, session_factory, "结婚")[0] == "内地居民结婚登记"
    with session_scope(session_factory) as session:
        edit_service(session, code="mzj-jhdj", changes={"name": "婚姻登记（结婚）"}, actor="t")
    assert _names(search, session_factory, "结婚")[0] == "婚姻登记（结婚）"
    assert _names(search, session_factory, "   ") == []


def test_background_rebuild_serves_old_index_then_new(
    session_factory: sessionmaker[Session], demo_services: list[Service]
) -> None:
    with session_scope(session_factory) as session:
        store_services(session, services=demo_services, actor=None)
    search = CatalogSearch()
    with session_factory() as session:
        assert search.warm(session) == len(demo_services)
    with session_scope(session_factory) as session:
        edit_service(session, code="mzj-jhdj", changes={"name": "婚姻登记（结婚）"}, actor="t")
    assert _names(search, session_factory, "结婚")[0] == "内地居民结婚登记"  # stale, answered at once
    deadline = time.monotonic() + 30
    while _names(search, session_factory, "结婚")[0] != "婚姻登记（结婚）":
        assert time.monotonic() < deadline, "the background rebuild never finished"
        time.sleep(0.05)
