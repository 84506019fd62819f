"""Real SuperLink + SuperNodes on loopback with TLS and node authentication, running the product's Flower app."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from federation.audit import verify
from federation.deploy import DeployError, _descendants, find_free_port, start_supernode
from federation.deploy_cli import AUDIT_FILE, deploy_app
from federation.pki import load_audit_public_key
from federation.registry import ModelRegistry, read_rounds

from .conftest import DEPARTMENTS, SPARE_DEPARTMENT, UNREGISTERED_DEPARTMENT, LiveFederation

pytestmark = pytest.mark.flower


@pytest.mark.slow
def test_cli_run_survives_a_node_killed_mid_round(live_federation: LiveFederation, tmp_path: Path) -> None:
    """3 rounds, 4 authenticated departments; one SuperNode is killed during round 3's training."""
    victim_id = DEPARTMENTS[-1]
    victim = live_federation.nodes[victim_id]
    registry = tmp_path / "registry"
    out_dir = tmp_path / "run"
    args = [
        "run", "--pki", str(live_federation.pki.root), "--state-dir", str(live_federation.state_dir),
        "--registry", str(registry), "--rounds", "3", "--timeout-s", "200",
        "-c", "min-nodes=3", "-c", "round-timeout-s=30", "-c", "quorum-wait-s=60", "-c", "local-epochs=1",
        "-c", "n-buckets=4096", "-c", f'model-out-dir="{out_dir}"',
    ]  # fmt: skip
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(out=CliRunner().invoke(deploy_app, args)))
    worker.start()
    # Kill it after it received round 3's training message and before it replies
    # (a SuperNode pushes replies on its next 3-second poll).
    deadline = time.monotonic() + 200
    while victim.log_tail(1_000_000).count("Receiving: train message") < 3:
        if not worker.is_alive():
            worker.join()
            pytest.fail(f"run ended before round 3: {result['out'].output}")  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, victim.log_tail()
        time.sleep(0.1)
    victim.kill()
    worker.join(timeout=240)
    outcome = result["out"]
    assert outcome.exit_code == 0, outcome.output  # type: ignore[attr-defined]
    summary = json.loads(outcome.stdout.strip().splitlines()[-1])  # type: ignore[attr-defined]
    assert summary["status"] == "finished:completed" and summary["bytes_in"] > 0

    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    # The default CoCoA+ keeps each department's dual variables in its SuperNode's context across rounds.
    assert metrics["strategy"] == "cocoa" and metrics["dual_restarts"] == []
    rounds = read_rounds(out_dir, node_names=live_federation.node_names)
    assert [r.server_round for r in rounds] == [1, 2, 3]
    # A busy machine may make one department miss a round's timeout; the quorum is 3 of 4.
    assert all(len(r.participants) >= 3 and set(r.participants) <= set(DEPARTMENTS) for r in rounds)
    assert victim_id in rounds[0].participants or victim_id in rounds[1].participants
    assert victim_id not in rounds[2].participants
    assert all(count > 0 for r in rounds for count in r.participants.values())

    version = ModelRegistry(registry).get(summary["version"])
    assert victim_id in version.data_sizes
    assert victim_id not in version.department_metrics and len(version.department_metrics) >= 3
    assert all("macro-f1" in m for m in version.department_metrics.values())
    assert (version.path / "model.npz").is_file()

    report = verify(live_federation.state_dir / AUDIT_FILE, load_audit_public_key(live_federation.pki.audit_public_key))
    assert report.entries >= 3 and summary["run_id"] in report.runs


def test_unregistered_node_is_refused(live_federation: LiveFederation) -> None:
    with pytest.raises(DeployError) as excinfo:
        start_supernode(
            pki_dir=live_federation.pki.root,
            department_id=UNREGISTERED_DEPARTMENT,
            superlink_address=live_federation.superlink.address,
            data_path=live_federation.root / "data" / "market.csv",
            state_dir=live_federation.state_dir,
            runtime_port=find_free_port(),
        )
    assert excinfo.value.code == "supernode_refused"
    assert "Failed to activate SuperNode" in str(excinfo.value)
    assert len(live_federation.cli.list_nodes()) == len(DEPARTMENTS) + 1


def test_status_lists_departments(live_federation: LiveFederation) -> None:
    outcome = CliRunner().invoke(
        deploy_app, ["status", "--pki", str(live_federation.pki.root), "--state-dir", str(live_federation.state_dir)]
    )
    assert outcome.exit_code == 0, outcome.output
    status = json.loads(outcome.stdout)
    by_department = {n["department"]: n["status"] for n in status["nodes"]}
    assert by_department[SPARE_DEPARTMENT] == "registered"
    assert by_department[DEPARTMENTS[0]] == "online"


def test_stop_leaves_no_orphans(live_federation: LiveFederation) -> None:
    node = live_federation.add_node(SPARE_DEPARTMENT)
    deadline = time.monotonic() + 20
    while not (tree := _descendants(node.pid)):
        assert time.monotonic() < deadline, "a SuperNode starts a SuperExec child"
        time.sleep(0.2)
    node.stop()
    time.sleep(0.5)
    for pid in [node.pid, *(pid for pid, _ in tree)]:
        assert _gone(pid), pid


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
