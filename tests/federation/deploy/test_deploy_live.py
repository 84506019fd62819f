"""Real SuperLink + SuperNodes on loopback with TLS and node authentication."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from federation.deploy import DeployError, _descendants, find_free_port, stage_app, start_supernode

from .conftest import DEPARTMENTS, FIXTURE_APP, SPARE_DEPARTMENT, UNREGISTERED_DEPARTMENT, LiveFederation, read_metrics

pytestmark = pytest.mark.flower


def _stage(tmp_path: Path) -> Path:
    return stage_app(project_dir=FIXTURE_APP, out_dir=tmp_path / "app", packages=["deployfixture"])


def test_three_rounds_complete_when_a_node_dies_mid_round(live_federation: LiveFederation, tmp_path: Path) -> None:
    victim_id = DEPARTMENTS[-1]
    victim = live_federation.nodes[victim_id]
    out_dir = tmp_path / "model"
    run_id = live_federation.cli.submit_run(
        app_dir=_stage(tmp_path),
        run_config={"num-server-rounds": 3, "min-nodes": 3, "round-timeout-s": 20, "model-out-dir": str(out_dir)},
    )
    # Kill one node after it received round 3's training message and before it replies
    # (a SuperNode pushes replies on its next 3-second poll).
    deadline = time.monotonic() + 150
    while victim.log_tail(1_000_000).count("Receiving: train message") < 3:
        assert time.monotonic() < deadline, victim.log_tail()
        time.sleep(0.1)
    victim.kill()
    status = live_federation.cli.wait_for_run(run_id, timeout_s=150)
    assert status.succeeded, status.raw
    metrics = read_metrics(out_dir)
    assert [r["round"] for r in metrics["rounds"]] == [1, 2, 3]
    assert [sorted(r["participants"]) for r in metrics["rounds"][:2]] == [sorted(DEPARTMENTS)] * 2
    assert sorted(metrics["rounds"][2]["participants"]) == sorted(DEPARTMENTS[:-1])
    assert status.inbound_bytes > 0 and status.outbound_bytes > 0
    log = live_federation.cli.logs(run_id)
    assert log.count("Received 4 results and 0 failures") >= 2
    assert "Received 3 results" in log


def test_unregistered_node_is_refused(live_federation: LiveFederation) -> None:
    with pytest.raises(DeployError) as excinfo:
        start_supernode(
            pki_dir=live_federation.pki.root,
            department_id=UNREGISTERED_DEPARTMENT,
            superlink_address=live_federation.superlink.address,
            data_path=live_federation.root / "data" / UNREGISTERED_DEPARTMENT,
            state_dir=live_federation.root / "nodes",
            runtime_port=find_free_port(),
        )
    assert excinfo.value.code == "supernode_refused"
    assert "Failed to activate SuperNode" in str(excinfo.value)
    assert len(live_federation.cli.list_nodes()) == len(DEPARTMENTS) + 1


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
