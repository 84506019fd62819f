"""Fixtures for the deployment tests: a PKI, a TLS+auth SuperLink and department SuperNodes on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from federation.deploy import FlwrCli, ManagedProcess, find_free_port, start_superlink, start_supernode, stop_all
from federation.pki import PkiLayout, init_pki

FIXTURE_APP = Path(__file__).resolve().parent / "fixture_app"
DEPARTMENTS = ["market", "hukou", "social", "housing"]
SPARE_DEPARTMENT = "civil"
UNREGISTERED_DEPARTMENT = "rogue"


@dataclass
class LiveFederation:
    """A running SuperLink with registered, connected department SuperNodes."""

    root: Path
    pki: PkiLayout
    superlink: ManagedProcess
    cli: FlwrCli
    nodes: dict[str, ManagedProcess] = field(default_factory=dict)

    def add_node(self, department_id: str) -> ManagedProcess:
        """Start (and remember) one department's SuperNode."""
        node = start_supernode(
            pki_dir=self.pki.root,
            department_id=department_id,
            superlink_address=self.superlink.address,
            data_path=self.root / "data" / department_id,
            state_dir=self.root / "nodes",
            runtime_port=find_free_port(),
        )
        self.nodes[department_id] = node
        return node


@pytest.fixture(scope="session")
def live_federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFederation]:
    root = tmp_path_factory.mktemp("federation-deploy")
    pki = init_pki(pki_dir=root / "pki", departments=[*DEPARTMENTS, SPARE_DEPARTMENT, UNREGISTERED_DEPARTMENT])
    superlink = start_superlink(pki_dir=pki.root, state_dir=root / "superlink", port=find_free_port())
    federation = LiveFederation(
        root=root,
        pki=pki,
        superlink=superlink,
        cli=FlwrCli(flwr_home=root / "operator", superlink_address=superlink.address, ca_cert=pki.ca_cert),
    )
    try:
        for department in [*DEPARTMENTS, SPARE_DEPARTMENT]:
            federation.cli.register_node(public_key=pki.node_public_key(department), name=department)
        for department in DEPARTMENTS:
            federation.add_node(department)
        yield federation
    finally:
        stop_all([*federation.nodes.values(), superlink])


def read_metrics(out_dir: Path) -> dict:
    """The metrics.json a ServerApp wrote into its model-out-dir."""
    return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
