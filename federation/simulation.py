"""Development runs: Flower's simulation engine over CSV partitions, one virtual SuperNode per department."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from federation.data import LabelledTexts, write_labelled_csv
from federation.task import METRICS_FILE


def write_partitions(partitions: Sequence[LabelledTexts], directory: str | Path) -> Path:
    """Write each department's rows to `department-<i>.csv` (what a virtual SuperNode reads)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(partitions):
        write_labelled_csv(out / f"department-{i}.csv", part)
    return out


def run_federated_simulation(
    partitions: Sequence[LabelledTexts],
    *,
    out_dir: str | Path,
    run_config: Mapping[str, object] | None = None,
    state_dir: str | Path | None = None,
    num_cpus: int = 2,
    client_mods: Sequence[Callable[..., object]] = (),
    verbose: bool = False,
) -> dict[str, object]:
    """Train with `flwr.simulation.run_simulation` (Ray backend); returns the metrics the server wrote.

    The model lands in `out_dir` (`model.npz`, `model.json`, `metrics.json`, `rounds.jsonl`); each
    department's ledger and egress log go to `state_dir/department-<i>/` (default `out_dir/state`).
    `client_mods` are extra Flower mods run on every department (benchmarks use one to simulate attacks).
    Deterministic for a given `seed` in `run_config` up to floating-point summation order.
    """
    from flwr.simulation import run_simulation

    from federation.client_app import build_client_app
    from federation.server_app import build_server_app

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts_dir = write_partitions(partitions, out / "partitions")
    for stale in ("rounds.jsonl", METRICS_FILE):
        (out / stale).unlink(missing_ok=True)
    config = {
        "min-nodes": len(partitions),
        **dict(run_config or {}),
        "partitions-dir": str(parts_dir),
        "state-dir": str(Path(state_dir) if state_dir else out / "state"),
        "model-out-dir": str(out),
    }
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    if not verbose:
        logging.getLogger("flwr").setLevel(logging.WARNING)
    run_simulation(
        server_app=build_server_app(config),
        client_app=build_client_app(config, extra_mods=client_mods),
        num_supernodes=len(partitions),
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": num_cpus, "num_gpus": 0, "include_dashboard": False, "log_to_driver": verbose},
        },
        verbose_logging=verbose,
    )
    metrics_path = out / METRICS_FILE
    if not metrics_path.is_file():
        raise RuntimeError(f"the simulation ended without writing {metrics_path}; run with verbose=True for Flower's log")
    return json.loads(metrics_path.read_text(encoding="utf-8"))
