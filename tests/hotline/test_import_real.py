"""All 1,578 real Guangdong service items: imported through the CLI, stored, and every guide rendered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from guides import render_guide
from hotline import HotlineSettings, create_app
from hotline.catalog import list_current_services, service_from_row
from hotline.cli import app as cli_app
from hotline.db import create_session_factory, session_scope
from hotline.models import ServiceVersion

EXPECTED_ITEMS = 1578


@pytest.mark.slow
def test_import_and_render_every_real_item(
    shared_data: Path,
    database_url: str,
    db_engine,
    settings: HotlineSettings,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    source = shared_data / "guangdong_gov_service_items" / "service_items.jsonl"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(cli_app, ["guides", "import", str(source), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["imported"] + summary["failed"] == EXPECTED_ITEMS
    assert summary["failed"] == 0, result.output
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ServiceVersion)) == EXPECTED_ITEMS

    app = create_app(settings)
    environment = app.state.templates.env
    with session_scope(create_session_factory(db_engine)) as session:
        rows = list_current_services(session)
    assert len({row.department for row in rows}) > 100
    for row in rows:
        html = render_guide(service_from_row(row), env=environment)
        assert row.code in html and "申请材料" in html, row.code

    with TestClient(app, raise_server_exceptions=False) as client:
        for row in rows[:: len(rows) // 40]:
            page = client.get(f"/guides/{row.code}")
            assert page.status_code == 200, (row.code, page.status_code)
        assert client.get("/").status_code == 200
        hits = client.get("/api/v1/search", params={"q": rows[0].name}).json()
        assert rows[0].code in [hit["code"] for hit in hits]
