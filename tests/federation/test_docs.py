"""docs/federation.md keeps up with the code: run-config keys, settings, CLI commands, strategies."""

from __future__ import annotations

from pathlib import Path

from federation.cli import app, intent_app
from federation.settings import FederationSettings
from federation.strategies import STRATEGY_NAMES
from federation.task import DEFAULT_RUN_CONFIG

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = (DOCS / "federation.md").read_text(encoding="utf-8")
DEPLOY_DOC = (DOCS / "federation-deploy.md").read_text(encoding="utf-8")


def test_every_run_config_key_is_documented():
    assert [k for k in DEFAULT_RUN_CONFIG if f"`{k}`" not in DOC] == []


def test_every_setting_and_strategy_is_documented():
    assert [k for k in FederationSettings.model_fields if f"`{k}`" not in DOC] == []
    assert [s for s in STRATEGY_NAMES if f"`{s}`" not in DOC] == []


def test_every_cli_command_is_documented():
    commands = [f"hotline federation {c.name}" for c in app.registered_commands]
    commands += [f"hotline federation {g.name}" for g in app.registered_groups]
    commands += [f"hotline intent {c.name}" for c in intent_app.registered_commands]
    assert {"hotline federation simulate", "hotline federation join", "hotline intent predict"} <= set(commands)
    assert [c for c in commands if c not in DOC and c not in DEPLOY_DOC] == []
