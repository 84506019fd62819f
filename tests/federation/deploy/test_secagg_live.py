"""SecAgg+ on the deployment engine: the legacy-API app submitted with `hotline federation run --app-dir`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from federation.deploy_cli import deploy_app

from .conftest import LiveFederation

pytestmark = pytest.mark.flower

REPO = Path(__file__).resolve().parents[3]


def secagg_app_dir(root: Path) -> Path:
    """The product's Flower app with the SecAgg+ ServerApp and ClientApp as its components (as docs/federation.md says)."""
    app = root / "secagg-app"
    app.mkdir()
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    pyproject = pyproject.replace('"federation.server_app:app"', '"federation.secagg:server_app"').replace('"federation.client_app:app"', '"federation.secagg:client_app"')
    assert "federation.secagg:server_app" in pyproject and "federation.secagg:client_app" in pyproject
    (app / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (app / "federation").symlink_to(REPO / "federation")
    return app


@pytest.mark.slow
def test_secagg_run_completes_on_the_deployment_engine(live_federation: LiveFederation, tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    args = [
        "run", "--pki", str(live_federation.pki.root), "--state-dir", str(live_federation.state_dir),
        "--registry", str(tmp_path / "registry"), "--rounds", "1", "--timeout-s", "300", "--app-dir", str(secagg_app_dir(tmp_path)),
        "-c", 'strategy="fedavg"', "-c", "min-nodes=3", "-c", "round-timeout-s=60", "-c", "quorum-wait-s=60", "-c", "local-epochs=1",
        "-c", "n-buckets=4096", "-c", f'model-out-dir="{out_dir}"',
    ]  # fmt: skip
    outcome = CliRunner().invoke(deploy_app, args)
    assert outcome.exit_code == 0, outcome.output
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["completed_rounds"] == 1 and metrics["secure_aggregation"]["num_shares"] == 1.0
    assert metrics["idf"] is True and metrics["idf_secure_aggregation"] is True and metrics["idf_departments"] >= 3
    assert (out_dir / "model.npz").is_file()
