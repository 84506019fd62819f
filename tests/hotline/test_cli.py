"""The `hotline` command: setup, db upgrade, guides import/list/render/search, users create, error lines."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hotline.cli import app, main
from hotline.models import ServiceVersion, User

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, db_engine, tmp_path: Path, bootstrapped_registry: Path) -> Path:  # type: ignore[no-untyped-def]
    """The CLI pointed at the test database, in development mode, with an intent model already promoted."""
    shutil.copytree(bootstrapped_registry, tmp_path / "intent-registry")
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "development")
    monkeypatch.setenv("HOTLINE_LOG_LEVEL", "WARNING")
    return tmp_path


def _run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["hotline", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_setup_is_idempotent_and_prints_dev_admin_once(cli_env: Path, db_engine) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(app, ["setup"])
    assert first.exit_code == 0, first.output
    assert "services loaded" in first.output and "password:" in first.output
    second = runner.invoke(app, ["setup"])
    assert second.exit_code == 0
    assert "already loaded" in second.output and "password:" not in second.output
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(User)) == 1
        assert connection.scalar(select(func.max(ServiceVersion.version))) == 1


def test_setup_creates_no_admin_outside_development(cli_env: Path, db_engine, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "p" * 40)
    result = runner.invoke(app, ["setup"])
    assert result.exit_code == 0 and "password" not in result.output
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(User)) == 0


def test_db_upgrade(cli_env: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "head" in result.output


def test_guides_list_render_search(cli_env: Path) -> None:
    runner.invoke(app, ["setup"])
    listing = runner.invoke(app, ["guides", "list", "--department", "民政局"])
    assert "mzj-jhdj" in listing.output and "公安局" not in listing.output
    html = runner.invoke(app, ["guides", "render", "mzj-jhdj"]).output
    assert html.lstrip().startswith("<!DOCTYPE html>") and "内地居民结婚登记" in html
    search = runner.invoke(app, ["guides", "search", "领结婚证"])
    assert search.output.splitlines()[0].startswith("mzj-jhdj\t")


def test_users_create_from_stdin_and_errors(cli_env: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(app, ["db", "upgrade"])
    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "clerk9",
            "--role",
            "clerk",
            "--department",
            "民政局",
            "--department",
            "公安局（户政）",
            "--password-stdin",
        ],
        input="a-long-password\n",
    )
    assert created.exit_code == 0, created.output
    assert "created clerk clerk9 for 公安局（户政）, 民政局" in created.output
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("a-long-password\n"))
    code, _out, err = _run_main(
        monkeypatch, capsys, "users", "create", "clerk9", "--role", "clerk", "--department", "x", "--password-stdin"
    )
    assert code == 2 and err.strip() == "error: user_exists: 用户 clerk9 已存在 / user already exists"
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("a-long-password\n"))
    code, _out, err = _run_main(
        monkeypatch, capsys, "users", "create", "clerk10", "--role", "clerk", "--password-stdin"
    )
    assert code == 2 and "--department" in err and "Traceback" not in err


def test_guides_import_small_file_json_summary(cli_env: Path, shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "guangdong_gov_service_items" / "service_items.jsonl"
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(source.read_text(encoding="utf-8").splitlines(keepends=True)[:30]), encoding="utf-8")
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["guides", "import", str(sample), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["imported"] == 30 and summary["failed"] == 0 and summary["seconds"] >= 0


def test_guides_import_bad_file_one_line_exit_2_nothing_lost(
    cli_env: Path, shared_data: Path, tmp_path: Path, monkeypatch, capsys, db_engine
) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(app, ["setup"])
    source = shared_data / "guangdong_gov_service_items" / "service_items.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)[:5]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join([*lines[:2], "{not json\n", *lines[2:]]), encoding="utf-8")
    with db_engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(ServiceVersion))
    code, _out, err = _run_main(monkeypatch, capsys, "guides", "import", str(bad))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and f"{bad}:3" in err and "nothing imported" in err
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(ServiceVersion)) == before
    code, out, err = _run_main(monkeypatch, capsys, "guides", "import", str(bad), "--skip-invalid", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["failed"] == 1
    code, _out, err = _run_main(monkeypatch, capsys, "guides", "import", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "no such file" in err


def test_bad_settings_give_one_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    code, _out, err = _run_main(monkeypatch, capsys, "guides", "list")
    assert code == 2
    assert err.strip() == "error: invalid settings: HOTLINE_SECRET_KEY is required when HOTLINE_ENVIRONMENT=production"


def test_unknown_service_render_is_one_line(cli_env: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    runner.invoke(app, ["db", "upgrade"])
    code, _out, err = _run_main(monkeypatch, capsys, "guides", "render", "nope")
    assert code == 2 and err.startswith("error: service_not_found")


def test_users_list_disable_enable(cli_env: Path, settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from hotline import create_app
    from tests.hotline.conftest import login

    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(
        app, ["users", "create", "admin7", "--role", "admin", "--password-stdin"], input="correct-horse-battery\n"
    )
    with TestClient(create_app(settings)) as client:
        login(client, "admin7")
        assert runner.invoke(app, ["users", "disable", "admin7"]).output.strip() == "disabled admin7"
        assert client.get("/api/v1/me").json()["kind"] == "anonymous", "a disabled account's session ends"
        assert "admin7\tadmin\tdisabled\t" in runner.invoke(app, ["users", "list"]).output
        runner.invoke(app, ["users", "enable", "admin7"])
        login(client, "admin7")
    code, _out, err = _run_main(monkeypatch, capsys, "users", "disable", "ghost")
    assert code == 2 and err.startswith("error: user_not_found")
