"""docs/operations.md keeps up: every setting and every CLI command is documented; deploy files agree."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import typer.main

from hotline.cli import app
from hotline.settings import HotlineSettings
from tests.conftest import REPO_ROOT

OPERATIONS = REPO_ROOT / "docs" / "operations.md"


def _commands(command: click.Command, path: list[str]) -> Iterator[str]:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, [*path, name])
    else:
        yield " ".join(path)


def test_every_setting_is_documented() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    missing = [
        f"HOTLINE_{name.upper()}" for name in HotlineSettings.model_fields if f"`HOTLINE_{name.upper()}`" not in text
    ]
    assert not missing, f"settings missing from {OPERATIONS.name}: {missing}"


def test_every_cli_command_is_documented() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    commands = list(_commands(typer.main.get_command(app), ["hotline"]))
    assert "hotline guides import" in commands
    missing = [command for command in commands if f"`{command}" not in text]
    assert not missing, f"commands missing from {OPERATIONS.name}: {missing}"


def test_example_env_file_names_only_real_settings() -> None:
    example = (REPO_ROOT / "deploy" / "hotline.env.example").read_text(encoding="utf-8")
    names = re.findall(r"^HOTLINE_([A-Z_]+)=", example, flags=re.MULTILINE)
    assert names and {name.lower() for name in names} <= set(HotlineSettings.model_fields)


def test_nginx_upload_limit_matches_default_setting() -> None:
    nginx = (REPO_ROOT / "deploy" / "nginx-hotline.conf").read_text(encoding="utf-8")
    limit = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert limit and int(limit.group(1)) == HotlineSettings.model_fields["max_upload_mb"].default
