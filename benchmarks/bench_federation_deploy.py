"""Rounds per minute: deployment engine (SuperLink + 3 SuperNodes, TLS + node auth) vs simulation engine.

Both engines run the product's Flower app (`federation.server_app` / `federation.client_app`) on the
same seeded synthetic department data with the same run config, in the same process run.
Usage: .venv/bin/python benchmarks/bench_federation_deploy.py [--rounds 3] [--repeats 1] [--n-buckets 16384]
Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from federation.data import write_labelled_csv
from federation.deploy import FlwrCli, find_free_port, stage_app, start_superlink, start_supernode, stop_all, wait_supernode_active
from federation.deploy_cli import department_state_dir
from federation.pki import init_pki
from federation.simulation import run_federated_simulation
from federation.synthetic import generate_requests

DEPARTMENTS = ["market", "hukou", "social"]
REPO = Path(__file__).resolve().parents[1]


def _partitions(seed: int) -> list:
    data = generate_requests(seed=seed, per_intent_and_type=6, chitchat=60)
    return [data.subset(range(i, len(data), len(DEPARTMENTS))) for i in range(len(DEPARTMENTS))]


def run_deployment(root: Path, parts: list, run_config: dict[str, object]) -> tuple[float, int]:
    """One run on real processes; returns (seconds from submit to finished, bytes in+out)."""
    pki = init_pki(pki_dir=root / "pki", departments=DEPARTMENTS)
    state = root / "state"
    superlink = start_superlink(pki_dir=pki.root, state_dir=state, port=find_free_port())
    nodes = []
    try:
        cli = FlwrCli(flwr_home=state / "operator", superlink_address=superlink.address, ca_cert=pki.ca_cert)
        for index, department in enumerate(DEPARTMENTS):
            cli.register_node(public_key=pki.node_public_key(department), name=department)
            data_path = write_labelled_csv(root / "data" / f"{department}.csv", parts[index])
            nodes.append(
                start_supernode(
                    pki_dir=pki.root,
                    department_id=department,
                    superlink_address=superlink.address,
                    data_path=data_path,
                    state_dir=state,
                    runtime_port=find_free_port(),
                    extra_node_config={"state-dir": str(department_state_dir(state, department))},
                    wait_ready=False,
                )
            )
        for department, node in zip(DEPARTMENTS, nodes, strict=True):
            wait_supernode_active(node, department, 120)
        config = {**run_config, "model-out-dir": str(root / "model")}
        app = stage_app(project_dir=REPO, out_dir=state / "fab", extra_config=config)
        started = time.monotonic()
        run_id = cli.submit_run(app_dir=app, run_config=config)
        status = cli.wait_for_run(run_id, timeout_s=1800, poll_s=0.5)
        elapsed = time.monotonic() - started
        if not status.succeeded:
            raise RuntimeError(f"deployment run ended as {status.status}")
        return elapsed, status.inbound_bytes + status.outbound_bytes
    finally:
        stop_all([*nodes, superlink])


def run_simulation_engine(root: Path, parts: list, run_config: dict[str, object]) -> float:
    """One run on Flower's simulation engine (Ray); returns wall seconds including Ray start-up."""
    started = time.monotonic()
    run_federated_simulation(parts, out_dir=root / "sim", run_config=run_config, num_cpus=2)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--n-buckets", type=int, default=16384)
    args = parser.parse_args()
    parts = _partitions(seed=3)
    run_config: dict[str, object] = {
        "num-server-rounds": args.rounds,
        "min-nodes": len(DEPARTMENTS),
        "round-timeout-s": 120,
        "local-epochs": 1,
        "n-buckets": args.n_buckets,
    }
    deploy_s, sim_s, traffic = [], [], []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
            seconds, total_bytes = run_deployment(Path(tmp), parts, run_config)
            deploy_s.append(seconds)
            traffic.append(total_bytes)
            sim_s.append(run_simulation_engine(Path(tmp), parts, run_config))
        print(f"repeat {repeat + 1}: deployment {deploy_s[-1]:.1f} s, simulation {sim_s[-1]:.1f} s", file=sys.stderr)
    deploy_median = statistics.median(deploy_s)
    sim_median = statistics.median(sim_s)
    figures = {
        "rounds": args.rounds,
        "departments": len(DEPARTMENTS),
        "n_buckets": args.n_buckets,
        "deployment_s_median": round(deploy_median, 1),
        "simulation_s_median": round(sim_median, 1),
        "deployment_rounds_per_min": round(args.rounds * 60 / deploy_median, 2),
        "simulation_rounds_per_min": round(args.rounds * 60 / sim_median, 2),
        "deployment_vs_simulation_time_ratio": round(deploy_median / sim_median, 2),
        "deployment_bytes_per_round_median": int(statistics.median(traffic) / args.rounds),
    }
    print(f"deployment (TLS+auth, 3 SuperNodes): {figures['deployment_rounds_per_min']} rounds/min (median {deploy_median:.1f} s)")
    print(f"simulation (Ray, 3 virtual nodes):   {figures['simulation_rounds_per_min']} rounds/min (median {sim_median:.1f} s)")
    print(f"ratio deployment/simulation time: {figures['deployment_vs_simulation_time_ratio']}x")
    print(f"bytes per round (deployment, in+out): {figures['deployment_bytes_per_round_median']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
