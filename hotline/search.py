"""Catalog search for the web app and CLI: guides' index over current services, rebuilt when the catalog changes."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from guides import SearchHit, ServiceIndex
from hotline.catalog import catalog_revision, list_current_services, service_from_row


class CatalogSearch:
    """Keeps one ``guides.ServiceIndex`` of the current catalog, rebuilt when a version is added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision = -1
        self._index: ServiceIndex | None = None

    def _current_index(self, session: Session) -> ServiceIndex:
        revision = catalog_revision(session)
        with self._lock:
            if self._index is None or revision != self._revision:
                services = [service_from_row(row) for row in list_current_services(session)]
                self._index = ServiceIndex(services)
                self._revision = revision
            return self._index

    def warm(self, session: Session) -> int:
        """Build the index now (e.g. at startup) so the first citizen does not wait; returns its size."""
        return len(self._current_index(session))

    def search(self, session: Session, *, query: str, limit: int) -> list[SearchHit]:
        """Hits (``.service``, ``.score``) best matching ``query``, best first."""
        if not query.strip():
            return []
        return self._current_index(session).search(query, limit=limit)
