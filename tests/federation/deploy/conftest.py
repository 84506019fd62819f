"""Fixtures for the deployment tests: a PKI, a TLS+auth SuperLink and department SuperNodes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from federation.deploy import (
    FlwrCli,
    ManagedProcess,
    find_free_port,
    start_superlink,
    start_supernode,
    stop_all,
    wait_supernode_active,
)
from federation.deploy_cli import NODES_FILE, SUPERLINK_FILE, department_state_dir
from federation.pki import PkiLayout, init_pki

DEPARTMENTS = ["market", "hukou", "social", "housing"]
SPARE_DEPARTMENT = "civil"
UNREGISTERED_DEPARTMENT = "rogue"


@dataclass
class LiveFederation:
    """A running SuperLink with registered, connected department SuperNodes, in CLI state-dir layout."""

    root: Path
    pki: PkiLayout
    state_dir: Path
    superlink: ManagedProcess
    cli: FlwrCli
    node_names: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, ManagedProcess] = field(default_factory=dict)

    def add_node(self, department_id: str, *, wait_ready: bool = True) -> ManagedProcess:
        """Start (and remember) one department's SuperNode on its synthetic data."""
        node = start_supernode(
            pki_dir=self.pki.root,
            department_id=department_id,
            superlink_address=self.superlink.address,
            data_path=self.root / "data" / f"{department_id}.csv",
            state_dir=self.state_dir,
            runtime_port=find_free_port(),
            extra_node_config={"state-dir": str(department_state_dir(self.state_dir, department_id))},
            wait_ready=wait_ready,
        )
        self.nodes[department_id] = node
        return node


def _write_department_data(data_dir: Path, departments: list[str]) -> None:
    """Small seeded synthetic requests, dealt round-robin to the departments."""
    from federation.data import write_labelled_csv
    from federation.synthetic import generate_requests

    data = generate_requests(seed=7, per_intent_and_type=8, chitchat=40)
    for index, department in enumerate(departments):
        write_labelled_csv(data_dir / f"{department}.csv", data.subset(range(index, len(data), len(departments))))


@pytest.fixture(scope="session")
def live_federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFederation]:
    import json

    root = tmp_path_factory.mktemp("federation-deploy")
    everyone = [*DEPARTMENTS, SPARE_DEPARTMENT]
    _write_department_data(root / "data", everyone)
    pki = init_pki(pki_dir=root / "pki", departments=[*everyone, UNREGISTERED_DEPARTMENT])
    state_dir = root / "state"
    superlink = start_superlink(pki_dir=pki.root, state_dir=state_dir, port=find_free_port())
    (state_dir / SUPERLINK_FILE).write_text(json.dumps({"address": superlink.address, "pid": superlink.pid}), encoding="utf-8")
    federation = LiveFederation(
        root=root,
        pki=pki,
        state_dir=state_dir,
        superlink=superlink,
        cli=FlwrCli(flwr_home=state_dir / "operator", superlink_address=superlink.address, ca_cert=pki.ca_cert),
    )
    try:
        for department in everyone:
            node_id = federation.cli.register_node(public_key=pki.node_public_key(department), name=department)
            federation.node_names[str(node_id)] = department
        (state_dir / NODES_FILE).write_text(json.dumps(federation.node_names), encoding="utf-8")
        for department in DEPARTMENTS:
            federation.add_node(department, wait_ready=False)
        for department, node in federation.nodes.items():
            wait_supernode_active(node, department, 90)
        yield federation
    finally:
        stop_all([*federation.nodes.values(), superlink])
