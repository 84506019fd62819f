"""Development runs: Flower's simulation engine over CSV partitions, one virtual SuperNode per department."""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from federation.data import DataFileError, LabelledTexts, PartitionSpec, partition_indices, stratified_split, write_labelled_csv
from federation.task import METRICS_FILE, write_metrics

_RUN_IDS = itertools.count(1)


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
    from federation.client_app import build_client_app
    from federation.server_app import build_server_app

    config = prepare_run(partitions, out_dir=out_dir, run_config=run_config, state_dir=state_dir)
    return simulate_with_flower(
        build_server_app(config), build_client_app(config, extra_mods=client_mods), config, num_supernodes=len(partitions), num_cpus=num_cpus, verbose=verbose
    )


def prepare_run(
    partitions: Sequence[LabelledTexts],
    *,
    out_dir: str | Path,
    run_config: Mapping[str, object] | None,
    state_dir: str | Path | None,
    defaults: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Write the partitions under `out_dir`, drop a previous run's metrics, and return the run config.

    `defaults` sit under `run_config`; the paths (partitions, state, model output) and the text
    columns the partitions were written with are always ours.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts_dir = write_partitions(partitions, out / "partitions")
    for stale in ("rounds.jsonl", METRICS_FILE):
        (out / stale).unlink(missing_ok=True)
    return {
        "min-nodes": len(partitions),
        **dict(defaults or {}),
        **dict(run_config or {}),
        "text-columns": json.dumps(list(partitions[0].text_columns), ensure_ascii=False),
        "partitions-dir": str(parts_dir),
        "state-dir": str(Path(state_dir) if state_dir else out / "state"),
        "model-out-dir": str(out),
    }


def simulate_with_flower(
    server_app: object, client_app: object, config: Mapping[str, object], *, num_supernodes: int, num_cpus: int = 2, verbose: bool = False
) -> dict[str, object]:
    """Run a ServerApp and ClientApp on Flower's simulation engine (Ray); returns the metrics the server wrote."""
    from flwr.simulation import run_simulation

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    if not verbose:
        logging.getLogger("flwr").setLevel(logging.WARNING)
    run_simulation(
        server_app=server_app,  # type: ignore[arg-type]
        client_app=client_app,  # type: ignore[arg-type]
        num_supernodes=num_supernodes,
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": num_cpus, "num_gpus": 0, "include_dashboard": False, "log_to_driver": verbose},
        },
        verbose_logging=verbose,
    )
    metrics_path = Path(str(config["model-out-dir"])) / METRICS_FILE
    if not metrics_path.is_file():
        raise RuntimeError(f"the simulation ended without writing {metrics_path}; run with verbose=True for Flower's log")
    return json.loads(metrics_path.read_text(encoding="utf-8"))


class InProcessGrid:
    """A Grid that delivers messages to ClientApp objects in this process (no Ray, no network).

    Runs exactly the ServerApp strategy code and the ClientApp handlers and mods, one department
    after the other: fast and deterministic, for benchmark sweeps. A handler that raises counts as a
    department that did not reply.
    """

    def __init__(self, client_app: object, node_configs: Sequence[Mapping[str, object]], *, run_id: int = 1) -> None:
        from flwr.app import Context, RecordDict

        self.client_app = client_app
        self.nodes = {i + 1: Context(run_id=run_id, node_id=i + 1, node_config=dict(cfg), state=RecordDict(), run_config={}) for i, cfg in enumerate(node_configs)}
        self.failures: list[str] = []

    def get_node_ids(self) -> list[int]:
        """All departments are always connected."""
        return list(self.nodes)

    def send_and_receive(self, messages: object, *, timeout: float | None = None) -> list[object]:
        """Deliver each message to its department's ClientApp and collect the replies."""
        from flwr.app import Message

        replies = []
        for msg in messages:  # type: ignore[attr-defined]
            node = msg.metadata.dst_node_id
            try:
                reply = self.client_app(msg, self.nodes[node])  # type: ignore[operator]
            except Exception as exc:  # noqa: BLE001 - a failing department is a missing reply, as on a real grid
                self.failures.append(f"node {node}: {exc}")
                continue
            if isinstance(reply, Message):
                replies.append(reply)
        return replies


def run_in_process(
    partitions: Sequence[LabelledTexts],
    *,
    out_dir: str | Path,
    run_config: Mapping[str, object] | None = None,
    state_dir: str | Path | None = None,
    client_mods: Sequence[Callable[..., object]] = (),
    run_id: int | None = None,
) -> dict[str, object]:
    """Like `run_federated_simulation`, but through an `InProcessGrid` (benchmarks and quick checks).

    Each call is a new run (`run_id` by default the next of this process's run numbers), as on a
    SuperLink: departments keep CoCoA+ variables on disk per run, so two runs sharing a state
    directory (simulate's held-out run and refit) must not share a run id.
    """
    run_id = next(_RUN_IDS) if run_id is None else run_id
    from flwr.supercore.task_identity import TaskIdentity

    from federation.client_app import build_client_app
    from federation.server_app import run_server
    from federation.task import TaskConfig

    config = prepare_run(partitions, out_dir=out_dir, run_config=run_config, state_dir=state_dir, defaults={"quorum-wait-s": 0})
    client_app = build_client_app(config, extra_mods=client_mods)
    grid = InProcessGrid(client_app, [{"partition-id": i, "num-partitions": len(partitions)} for i in range(len(partitions))], run_id=run_id)
    saved = (TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = run_id, 0, run_id
    logging.getLogger("flwr").setLevel(logging.WARNING)
    try:
        metrics = run_server(grid=grid, config=TaskConfig.from_run_config(config), run_id=str(run_id))  # type: ignore[arg-type]
    finally:
        TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = saved
    metrics["failures"] = grid.failures
    return metrics


def train_held_out_and_refit(
    rows: LabelledTexts,
    *,
    departments: int,
    partition: PartitionSpec,
    test_fraction: float,
    out_dir: str | Path,
    run_config: Mapping[str, object],
    state_dir: str | Path | None = None,
    seed: int = 0,
    runner: Callable[..., dict[str, object]] = run_federated_simulation,
    **runner_options: object,
) -> dict[str, object]:
    """`hotline federation simulate`'s recipe: measure on held-out rows, then train the saved model on every row.

    With `test_fraction` > 0, a held-out run trains on the rest of the rows spread over `departments`
    and is scored on a stratified test split (`out_dir/test.csv`; its files in `out_dir/evaluation`).
    The refit then spreads every row over the departments (same rule and seed) and trains with
    `holdout-fraction` 0 and the held-out run's calibrated temperature, so no row is kept back from
    the model written to `out_dir`. Both runs write to the same departments' ledgers (`state_dir`,
    default `out_dir/state`). Returns the refit's metrics (also written to `out_dir/metrics.json`),
    whose `final_central` is the held-out run's score on the test split (the refit is not scored: every
    row trained it) and `held_out` says so: its `train-rows`, `test-rows` and `model-dir`. With
    `test_fraction` 0 there is one run, calibrated on the departments' own held-out rows, and both
    are empty. Raises DataFileError when a department would get no rows or the test split none.
    """
    out = Path(out_dir)
    state = Path(state_dir) if state_dir else out / "state"

    def spread(part: LabelledTexts) -> list[LabelledTexts]:
        parts = [part.subset(ix) for ix in partition_indices(part.labels, departments, partition, seed=seed)]
        empty = [i for i, p in enumerate(parts) if len(p) == 0]
        if empty:
            raise DataFileError(f"department(s) {', '.join(map(str, empty))} got no messages; use fewer departments or another partition")
        return parts

    every_row = spread(rows)
    held_out: dict[str, object] = {}
    final_central: object = {}
    refit: dict[str, object] = {}
    if test_fraction > 0:
        train_idx, test_idx = stratified_split(rows.labels, test_fraction=test_fraction, seed=seed)
        if not len(test_idx):
            raise DataFileError(f"holding out {test_fraction:.0%} leaves no test rows (a label with few rows lends none): give more rows, or a test fraction of 0")
        test_path = write_labelled_csv(out / "test.csv", rows.subset(test_idx))
        config = {**run_config, "eval-data-path": str(test_path)}
        evaluation = runner(spread(rows.subset(train_idx)), out_dir=out / "evaluation", run_config=config, state_dir=state, **runner_options)
        held_out = {"train-rows": len(train_idx), "test-rows": len(test_idx), "model-dir": "evaluation"}
        final_central = evaluation["final_central"]
        refit = {"holdout-fraction": 0.0, "temperature": evaluation["temperature"]}
    metrics = runner(every_row, out_dir=out, run_config={**run_config, **refit}, state_dir=state, **runner_options)
    metrics.update(final_central=final_central, held_out=held_out)
    write_metrics(out, metrics)
    return metrics
