"""Staging the Flower app: small FAB, untouched source pyproject, audited ServerApp, declared overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from federation.deploy import DeployError, stage_app

REPO = Path(__file__).resolve().parents[3]


def test_stage_app_keeps_source_untouched_and_fab_small(tmp_path: Path) -> None:
    before = (REPO / "pyproject.toml").read_bytes()
    staged = stage_app(project_dir=REPO, out_dir=tmp_path / "app", extra_config={"undeclared-key": "/x", "num-server-rounds": 2})
    assert (REPO / "pyproject.toml").read_bytes() == before
    config = tomllib.loads((staged / "pyproject.toml").read_text(encoding="utf-8"))
    assert "federations" not in config["tool"]["flwr"]
    assert config["tool"]["flwr"]["app"]["components"]["serverapp"] == "hotline_audited_serverapp:app"
    assert config["tool"]["flwr"]["app"]["components"]["clientapp"] == "federation.client_app:app"
    app_config = config["tool"]["flwr"]["app"]["config"]
    assert app_config["undeclared-key"] == "/x"
    source_config = tomllib.loads(before.decode())["tool"]["flwr"]["app"]["config"]
    assert app_config["num-server-rounds"] == source_config["num-server-rounds"]
    wrapper = (staged / "hotline_audited_serverapp.py").read_text(encoding="utf-8")
    assert 'build_audited_server_app("federation.server_app:app")' in wrapper
    names = {p.name for p in (staged / "federation").iterdir()}
    assert {"client_app.py", "server_app.py", "audit.py"} <= names
    assert not names & {"deploy.py", "deploy_cli.py", "pki.py", "registry.py", "__pycache__"}
    assert sum(p.stat().st_size for p in staged.rglob("*") if p.is_file()) < 1_000_000


def test_stage_app_errors(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "pyproject.toml").write_text("[project]\nname='x'\n", encoding="utf-8")
    with pytest.raises(DeployError) as excinfo:
        stage_app(project_dir=tmp_path / "src", out_dir=tmp_path / "app")
    assert excinfo.value.code == "app_config_invalid"
