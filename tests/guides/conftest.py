"""Fixtures for the guides tests: the demo catalog, the real export, and search indexes built once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from guides import ImportOutcome, Service, ServiceIndex, import_export, load_demo_catalog

QUERIES_FILE = Path(__file__).with_name("search_queries.yaml")


@pytest.fixture(scope="session")
def demo_catalog() -> list[Service]:
    return load_demo_catalog()


@pytest.fixture(scope="session")
def demo_index(demo_catalog) -> ServiceIndex:
    return ServiceIndex(demo_catalog)


@pytest.fixture(scope="session")
def search_cases() -> list[tuple[str, str]]:
    return [(case["query"], case["code"]) for case in yaml.safe_load(QUERIES_FILE.read_text(encoding="utf-8"))]


@pytest.fixture(scope="session")
def real_export(shared_data) -> Path:
    return shared_data / "guangdong_gov_service_items" / "service_items.jsonl"


@pytest.fixture(scope="session")
def real_outcomes(real_export) -> list[ImportOutcome]:
    return list(import_export(real_export))
