"""Catalog search for the web app and CLI: guides' index over current services, rebuilt when the catalog changes."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from guides import SearchHit, ServiceIndex
from hotline.catalog import catalog_revision, list_current_services, service_from_row

logger = logging.getLogger("hotline.search")


class CatalogSearch:
    """Keeps one ``guides.ServiceIndex`` of the current catalog.

    The first search builds it; after a catalog change the old index keeps answering while a new one is
    built in a background thread (building takes seconds on the full catalog), unless ``background`` is off.
    """

    def __init__(self, *, background: bool = True) -> None:
        self._background = background
        self._lock = threading.Lock()
        self._revision = -1
        self._index: ServiceIndex | None = None
        self._rebuilding = False

    @staticmethod
    def _build(session: Session) -> tuple[int, ServiceIndex]:
        revision = catalog_revision(session)
        return revision, ServiceIndex(service_from_row(row) for row in list_current_services(session))

    def _rebuild_in_background(self, engine: Engine) -> None:
        try:
            with Session(engine) as session:
                revision, index = self._build(session)
            with self._lock:
                self._index, self._revision = index, revision
            logger.info("search index rebuilt: %d services", len(index))
        except SQLAlchemyError as exc:
            logger.warning("search index rebuild failed, keeping the previous one: %s", exc)
        finally:
            with self._lock:
                self._rebuilding = False

    def _current_index(self, session: Session) -> ServiceIndex:
        revision = catalog_revision(session)
        with self._lock:
            if self._index is not None and revision == self._revision:
                return self._index
            if self._index is not None and self._background:
                if not self._rebuilding:
                    self._rebuilding = True
                    threading.Thread(
                        target=self._rebuild_in_background,
                        args=(session.get_bind(),),
                        name="search-rebuild",
                        daemon=True,
                    ).start()
                return self._index
            self._revision, self._index = self._build(session)
            return self._index

    def warm(self, session: Session) -> int:
        """Build the index now (e.g. at startup) so the first citizen does not wait; returns its size."""
        return len(self._current_index(session))

    def search(self, session: Session, *, query: str, limit: int) -> list[SearchHit]:
        """Hits (``.service``, ``.score``) best matching ``query``, best first."""
        if not query.strip():
            return []
        return self._current_index(session).search(query, limit=limit)
