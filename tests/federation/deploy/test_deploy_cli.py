"""The deployment CLI without Flower processes: PKI, registry, audit, ledger, errors, docs coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from federation.audit import append_entry
from federation.deploy_cli import deploy_app, department_state_dir
from federation.pki import init_pki, load_audit_private_key

from .test_registry import NAMES, _run_output

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(deploy_app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _fails(args: list[str], code: str) -> str:
    result = runner.invoke(deploy_app, args)
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 or code in {"process_exited"}
    return result.stderr


def test_init_pki_and_bad_department(tmp_path: Path) -> None:
    out = json.loads(_ok(["init-pki", "--out", str(tmp_path / "pki"), "-d", "market", "-d", "hukou"]))
    assert out["departments"] == ["hukou", "market"]
    assert (tmp_path / "pki" / "supernodes" / "market" / "node_auth.pub").is_file()
    _fails(["init-pki", "--out", str(tmp_path / "pki"), "-d", "Bad Dept"], "invalid_department_id")


def test_registry_list_and_promote(tmp_path: Path) -> None:
    from federation.registry import ModelRegistry

    registry = ModelRegistry(tmp_path / "reg")
    registry.register(model_dir=_run_output(tmp_path, "r1", {"m": 0.8, "h": 0.7}), node_names=NAMES, code="t")
    registry.register(model_dir=_run_output(tmp_path, "r2", {"m": 0.9, "h": 0.5}), node_names=NAMES, code="t")
    reg = ["--registry", str(tmp_path / "reg")]
    assert json.loads(_ok(["registry", "promote", "v0001", *reg]))["previous"] is None
    stderr = _fails(["registry", "promote", "v0002", *reg], "promotion_regression")
    assert "hukou" in stderr
    _fails(["registry", "promote", "v0042", *reg], "version_not_found")
    listed = [json.loads(line) for line in _ok(["registry", "list", *reg]).splitlines()]
    assert [(v["version"], v["promoted"]) for v in listed] == [("v0001", True), ("v0002", False)]
    forced = json.loads(_ok(["registry", "promote", "v0002", "--force", *reg]))
    assert forced["regressions"] == ["hukou: macro-f1 0.7000 -> 0.5000"]


def test_audit_verify_command(tmp_path: Path) -> None:
    layout = init_pki(pki_dir=tmp_path / "pki", departments=[])
    trail = tmp_path / "audit.jsonl"
    for server_round in (1, 2):
        append_entry(
            trail,
            signing_key=load_audit_private_key(layout.audit_key),
            run_id="7",
            server_round=server_round,
            participants={"market": 3},
            metrics={},
            model_sha256=None,
            created_at="2026-11-24T00:00:00+00:00",
        )
    args = ["audit", "verify", "--trail", str(trail), "--public-key", str(layout.audit_public_key)]
    report = json.loads(_ok(args))
    assert report["ok"] and report["entries"] == 2
    trail.write_text(trail.read_text(encoding="utf-8").replace('"market": 3', '"market": 30'), encoding="utf-8")
    _fails(args, "audit_entry_modified")
    _fails(["audit", "verify", "--trail", str(tmp_path / "none.jsonl"), "--public-key", str(layout.audit_public_key)], "audit_trail_missing")


def test_ledger_shows_department_epsilon(tmp_path: Path) -> None:
    from federation.privacy import LEDGER_FILE, DpRelease, PrivacyLedger

    state = tmp_path / "state"
    ledger = PrivacyLedger(department_state_dir(state, "market") / LEDGER_FILE, department_id="market")
    ledger.record(DpRelease("run-1", 1, 0.05, 1.1, 100, 1.0, "2026-11-24T00:00:00+00:00"))
    shown = json.loads(_ok(["ledger", "--department", "market", "--state-dir", str(state)]))
    assert shown["department_id"] == "market" and shown["dp_rounds"] == 1 and 0 < shown["epsilon"] < 10
    _fails(["ledger", "--department", "hukou", "--state-dir", str(state)], "ledger_missing")


def test_run_without_superlink_is_one_clear_error(tmp_path: Path) -> None:
    init_pki(pki_dir=tmp_path / "pki", departments=[])
    _fails(["run", "--pki", str(tmp_path / "pki"), "--state-dir", str(tmp_path / "state")], "superlink_unknown")
    _fails(["run", "-c", "novalue", "--pki", str(tmp_path / "pki")], "run_config_invalid")
    _fails(["run", "-c", "no-such-key=1", "--pki", str(tmp_path / "pki")], "run_config_invalid")
    _fails(["run", "-c", "dp-noise-multiplier=1.0", "--pki", str(tmp_path / "pki")], "run_config_invalid")  # needs an SGD strategy
    _fails(["run", "-c", "prior-correction=5", "--pki", str(tmp_path / "pki")], "run_config_invalid")
    _fails(["join", "-d", "market", "--data", str(tmp_path / "missing.csv"), "--superlink", "127.0.0.1:1"], "data_missing")


def _command_paths() -> list[str]:
    group = get_command(deploy_app)
    paths = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        paths += [f"{name} {child}" for child in sub] if sub else [name]
    return paths


def test_every_command_and_error_code_is_documented() -> None:
    doc = (REPO / "docs" / "federation-deploy.md").read_text(encoding="utf-8")
    for path in _command_paths():
        assert f"hotline federation {path}" in doc, path
    codes: set[str] = set()
    for module in ("deploy", "deploy_cli", "pki", "registry", "audit"):
        source = (REPO / "federation" / f"{module}.py").read_text(encoding="utf-8")
        codes |= set(re.findall(r'(?:Error|_fail)\(\s*"([a-z_]+)"', source))
    assert codes, "error codes found"
    missing = sorted(code for code in codes if f"`{code}`" not in doc)
    assert not missing, missing


@pytest.mark.parametrize(("unit", "command"), [("hotline-superlink.service", "superlink"), ("hotline-supernode@.service", "join")])
def test_systemd_units_use_existing_options(unit: str, command: str) -> None:
    text = (REPO / "deploy" / "flower" / unit).read_text(encoding="utf-8")
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert f"hotline federation {command} " in exec_line
    click_command = get_command(deploy_app).commands[command]  # type: ignore[attr-defined]
    known = {opt for param in click_command.params for opt in param.opts}
    used = set(re.findall(r"(--[a-z-]+)", exec_line))
    assert used and used <= known, used - known
    env_names = set(re.findall(r"\$\{([A-Z_]+)\}", exec_line))
    example = (REPO / "deploy" / "flower" / "federation.env.example").read_text(encoding="utf-8")
    assert all(f"{name}=" in example for name in env_names)
