"""Secure aggregation (SecAgg+) as an option: a legacy-API ServerApp and ClientApp around the same task.py training.

Flower 1.42 runs SecAgg+ only through the legacy strategy API: `LegacyContext` + `DefaultWorkflow`
with a `SecAggPlusWorkflow` on the server, `secaggplus_mod` in front of a `NumPyClient` on each
department. The server then learns only the example-weighted sum of the departments' models, so
only `fedavg` can run under it: robust (`trimmed`, `filtered`, `median`, `krum`) and class-wise
strategies need each department's update, and client-level DP wraps the Message-API strategy.
Departments still train, keep their (ε, δ) ledger and egress log exactly as in `client_app.py`.

The IDF weights come from a first SecAgg+ round too: each department sends its document frequencies
divided by its weight, so the securely aggregated weighted mean times the summed weights (sent in the
clear, as every round's are) is the sum of the departments' document frequencies.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from flwr.app import Context, RecordDict
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp
from flwr.client.mod import secaggplus_mod
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.server import LegacyContext, ServerConfig
from flwr.server.strategy import FedAvg as LegacyFedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD
from flwr.serverapp import Grid, ServerApp

from federation.data import LabelledTexts
from federation.client_app import idf_from_config
from federation.model import IntentModel
from federation.server_app import RouteCalibration, finish_run, idf_refused
from federation.simulation import InProcessGrid, prepare_run, simulate_with_flower
from federation.strategies import wait_for_nodes
from federation.task import (
    IDF_CONFIG_KEY,
    FeatureCounts,
    RoundEvent,
    LocalData,
    TaskConfig,
    append_round,
    department_statistics,
    evaluate_centrally,
    evaluate_department,
    load_local_data,
    load_round_hook,
    record_egress,
    resolve_department,
    train_department,
    with_idf,
)

SECAGG_STRATEGIES = ("fedavg",)
_NLL_PREFIX = "nll-t"
_COUNT_PREFIX = "label-count-"
_LOCAL_CACHE: dict[tuple[object, ...], LocalData] = {}
_LOCAL_CACHE_SIZE = 64
_STATISTICS = "document-frequency"


class SecAggConfigError(ValueError):
    """The run asks for something secure aggregation cannot do (a robust strategy, client-level DP)."""


@dataclass(frozen=True)
class SecAggSettings:
    """SecAgg+ protocol settings (Flower's `SecAggPlusWorkflow` arguments).

    `num_shares` 1.0 shares each department's key with every other one (full SecAgg, fine for
    ≤ 20 departments); 60 % of the shares rebuild a dropped department's mask, so up to 40 % may
    drop out mid-round. Each department sends its parameters × (examples / `max_weight`), clipped to
    ±`clipping_range` and quantised to `quantization_range` levels; departments with more than
    `max_weight` examples are weighted as `max_weight`.
    """

    num_shares: float = 1.0
    reconstruction_threshold: float = 0.6
    clipping_range: float = 8.0
    quantization_range: int = 2**22
    max_weight: float = 10_000.0


def check_secagg_config(config: TaskConfig) -> None:
    """Raise SecAggConfigError unless the run's strategy and privacy settings work under secure aggregation."""
    strategy = config.str("strategy")
    if strategy not in SECAGG_STRATEGIES:
        raise SecAggConfigError(
            f"secure aggregation shows the server only the sum of the departments' models, but strategy {strategy!r} "
            f"needs each department's update; use {' or '.join(SECAGG_STRATEGIES)}, or run without secure aggregation"
        )
    if config.float("client-dp-noise-multiplier") > 0:
        raise SecAggConfigError("client-level DP wraps the Message-API strategy and is not available with secure aggregation")


class DepartmentClient(NumPyClient):
    """One department's legacy client: the same local training, ledger and egress log as `client_app.py`."""

    def __init__(self, context: Context, config: TaskConfig, settings: SecAggSettings) -> None:
        self.context = context
        self.config = config
        self.settings = settings
        self.dept = resolve_department(context.node_config, config)
        self.model = config.new_model()
        path = self.dept.data_path
        # The legacy ClientApp builds a client per message: keep the featurised data between rounds.
        key = (str(path), path.stat().st_mtime_ns if path.exists() else 0, tuple(sorted(config.values.items())))
        if key not in _LOCAL_CACHE:
            while len(_LOCAL_CACHE) >= _LOCAL_CACHE_SIZE:
                _LOCAL_CACHE.pop(next(iter(_LOCAL_CACHE)))
            _LOCAL_CACHE[key] = load_local_data(self.dept, config, self.model)
        self.local = _LOCAL_CACHE[key]

    def _with(self, parameters: Sequence[np.ndarray], config: Mapping[str, Any]) -> tuple[IntentModel, LocalData]:
        """The model with the server's parameters and IDF weights, and the local data weighted by them."""
        self.model.set_arrays([np.asarray(p, dtype=np.float32) for p in parameters])
        self.model.idf = idf_from_config(config, self.model.hasher.n_buckets)
        return self.model, with_idf(self.local, self.model.idf)

    def _weight(self, num_examples: int) -> int:
        return int(min(num_examples, self.settings.max_weight))

    def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        """Train one round locally; returns the parameters SecAgg+ masks, the (capped) weight and the loss.
        In the statistics round, its `FeatureCounts` over the weight instead (`server_app.collect_statistics`'s sum)."""
        run_id = str(self.context.run_id)
        if config.get("statistics") == _STATISTICS:
            counts = department_statistics(local=self.local, dept=self.dept, run_id=run_id, config=self.config)
            weight = self._weight(int(counts.num_docs))
            return [a / max(1, weight) for a in counts.arrays().values()], weight, {"num-documents": int(counts.num_docs)}
        model, local = self._with(parameters, config)
        server_round = int(config.get("server-round", 0))
        seed = self.config.int("seed") * 1_000_003 + server_round * 7919 + zlib.crc32(self.dept.department_id.encode())
        report, metrics = train_department(model=model, local=local, config=self.config, dept=self.dept, run_id=run_id, server_round=server_round, seed=seed)
        record_egress(dept=self.dept, run_id=run_id, server_round=server_round, model=model, metrics={**metrics, "secure-aggregation": True}, config=self.config)
        counts = {f"{_COUNT_PREFIX}{i}": int(c) for i, c in enumerate(metrics["label-counts"])}  # type: ignore[attr-defined]
        return model.get_arrays(), self._weight(report.num_examples), {"train-loss": float(report.mean_loss), **counts}

    def evaluate(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
        """Held-out loss (1 − accuracy), accuracy, macro-F1 and the NLL per calibration temperature as
        scalars, scored with the temperature and label counts the server sent (as `client_app` does)."""
        model, local = self._with(parameters, config)
        model.temperature = float(config.get("temperature", 1.0))
        model.label_counts = tuple(np.frombuffer(config.get("label-counts", b""), dtype=np.int64).tolist())
        metrics = evaluate_department(model=model, local=local)
        nll = metrics.pop("nll-by-temperature")
        metrics.pop("request-type-nll-by-temperature", None)
        scalars = {k: float(v) for k, v in metrics.items() if k != "num-examples"}  # type: ignore[arg-type]
        scalars.update({f"{_NLL_PREFIX}{i}": float(v) for i, v in enumerate(nll)})  # type: ignore[arg-type]
        return 1.0 - scalars["accuracy"], int(metrics["num-examples"]), scalars  # type: ignore[arg-type]


def build_secagg_client_app(overrides: Mapping[str, object] | None = None, *, settings: SecAggSettings | None = None, extra_mods: Sequence[Any] = ()) -> ClientApp:
    """A legacy ClientApp with `secaggplus_mod`; `extra_mods` run inside it and see the unmasked reply."""
    extra = dict(overrides or {})
    chosen = settings or SecAggSettings()

    def client_fn(context: Context) -> Any:
        config = TaskConfig.from_run_config({**dict(context.run_config), **extra})
        return DepartmentClient(context, config, chosen).to_client()

    return ClientApp(client_fn=client_fn, mods=[secaggplus_mod, *extra_mods])


def _legacy_config(config: Mapping[str, object]) -> dict[str, Any]:
    """A `RouteCalibration.evaluation_config` as legacy config values (scalars: the counts as int64 bytes)."""
    return {k: np.asarray(v, dtype=np.int64).tobytes() if isinstance(v, list) else v for k, v in config.items()}


def _weighted_mean(results: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    total = sum(n for n, _ in results) or 1
    keys = set().union(*(m.keys() for _, m in results)) if results else set()
    return {k: sum(n * float(m.get(k, 0.0)) for n, m in results) / total for k in sorted(keys)}


class _Float32FedAvg(LegacyFedAvg):
    """Legacy FedAvg that hands the dequantised (float64) SecAgg+ sum back as float32, the model's dtype,
    and notes each department's label counts (sent in the clear beside its masked model) in `routes`."""

    def __init__(self, *, routes: RouteCalibration, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.routes = routes

    def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> tuple[Any, dict[str, Any]]:
        """FedAvg of the (identical, already aggregated) results, cast to float32."""
        for proxy, fitres in results:
            metrics = fitres.metrics or {}
            self.routes.note_counts(proxy.node_id, [metrics.get(f"{_COUNT_PREFIX}{i}", -1) for i in range(self.routes.num_labels)])
        parameters, metrics = super().aggregate_fit(server_round, results, failures)
        if parameters is not None:
            parameters = ndarrays_to_parameters([np.asarray(a, dtype=np.float32) for a in parameters_to_ndarrays(parameters)])
        return parameters, metrics

    def aggregate_evaluate(self, server_round: int, results: Any, failures: Any) -> tuple[float | None, dict[str, Any]]:
        """FedAvg's, over the departments that held rows out (none, as in a refit on every row: no evaluation)."""
        return super().aggregate_evaluate(server_round, [(proxy, res) for proxy, res in results if res.num_examples > 0], failures)


class _DocumentFrequencies(LegacyFedAvg):
    """The statistics round's strategy: the feature weights from the securely aggregated `FeatureCounts`."""

    def __init__(self, *, strength: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strength = strength
        self.idf: np.ndarray | None = None
        self.facts: dict[str, object] = {"idf": False, "idf_reason": "the secure document-frequency round did not complete"}

    def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> tuple[Any, dict[str, Any]]:
        """Every result carries the same aggregate: Σ w·(df / w) / Σ w, where each w is sent in the clear."""
        if not results:
            return None, {}
        weight = sum(fitres.num_examples for _, fitres in results)
        doc_freq, *by_label = (np.clip(mean * weight, 0.0, None) for mean in parameters_to_ndarrays(results[0][1].parameters))
        num_docs = sum(int((fitres.metrics or {}).get("num-documents", 0)) for _, fitres in results)
        label_doc_freq, label_rows = by_label or (None, None)
        self.idf = FeatureCounts(doc_freq, label_doc_freq, label_rows, num_docs).weights(self.strength)
        self.facts = {"idf": True, "idf_departments": len(results), "idf_documents": num_docs, "label_concentration": self.strength if by_label else 0.0, "idf_secure_aggregation": True}
        return None, {}


def _secure_idf(grid: Grid, context: Context, config: TaskConfig, workflow: SecAggPlusWorkflow) -> tuple[np.ndarray | None, dict[str, object]]:
    """One SecAgg+ round of document frequencies before training; the IDF weights (or None) and facts for the metadata."""
    refused = idf_refused(config)
    if refused is not None:
        return None, refused
    min_nodes = config.int("min-nodes")
    strategy = _DocumentFrequencies(
        strength=config.label_concentration(),
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=min_nodes,
        min_available_clients=min_nodes,
        initial_parameters=ndarrays_to_parameters([np.zeros(config.n_buckets(), dtype=np.float32)]),
        on_fit_config_fn=lambda _: {"statistics": _STATISTICS},
    )
    legacy = LegacyContext(context, config=ServerConfig(num_rounds=1, round_timeout=config.float("round-timeout-s")), strategy=strategy)
    DefaultWorkflow(fit_workflow=workflow)(grid, legacy)
    return strategy.idf, strategy.facts


class _TimedFit:
    """Runs the SecAgg+ fit workflow and records how long each round's protocol took."""

    def __init__(self, workflow: SecAggPlusWorkflow) -> None:
        self.workflow = workflow
        self.seconds: list[float] = []

    def __call__(self, grid: Grid, context: Context) -> None:
        started = time.monotonic()
        self.workflow(grid, context)
        self.seconds.append(time.monotonic() - started)


def run_secagg_server(*, grid: Grid, context: Context, config: TaskConfig, settings: SecAggSettings | None = None) -> dict[str, object]:
    """Run all rounds with SecAgg+ FedAvg on `grid`, calibrate, save the model and metrics; returns the metrics dict."""
    check_secagg_config(config)
    chosen = settings or SecAggSettings()
    started = time.monotonic()
    run_id = str(context.run_id)
    out_dir = Path(config.str("model-out-dir") or "federation-model")
    hook = load_round_hook(config.str("round-hook"))
    model = config.new_model()
    min_nodes = config.int("min-nodes")
    eval_path = config.str("eval-data-path")
    rounds: list[dict[str, object]] = []
    eval_cache: dict[str, object] = {}
    last_department_metrics: dict[str, Any] = {}
    routes = RouteCalibration(len(model.labels), temperature=config.temperature())
    workflow = SecAggPlusWorkflow(
        num_shares=chosen.num_shares,
        reconstruction_threshold=chosen.reconstruction_threshold,
        clipping_range=chosen.clipping_range,
        quantization_range=chosen.quantization_range,
        max_weight=chosen.max_weight,
        timeout=config.float("round-timeout-s"),
    )
    wait_for_nodes(grid, min_nodes, config.float("quorum-wait-s"))
    model.idf, idf_facts = _secure_idf(grid, context, config, workflow)
    idf_config = {IDF_CONFIG_KEY: model.idf.tobytes()} if model.idf is not None else {}

    def central_evaluation(server_round: int, arrays: list[np.ndarray], _: dict[str, Any]) -> tuple[float, dict[str, Any]] | None:
        if server_round == 0:
            return None
        central: dict[str, float] = {}
        if eval_path:
            probe = config.new_model()
            probe.set_arrays(arrays)
            probe.idf = model.idf
            routes.apply(probe)
            central = evaluate_centrally(probe, eval_path, config, cache=eval_cache)
        metrics = {"central": central, "departments": {k: v for k, v in last_department_metrics.items() if not k.startswith(_NLL_PREFIX)}}
        rounds.append({"round": server_round, **metrics})
        event = RoundEvent(run_id=run_id, server_round=server_round, model_out_dir=str(out_dir), metrics=metrics)
        append_round(out_dir, event)
        if hook is not None:
            hook(event)
        return 1.0 - central.get("accuracy", 0.0), central

    def department_evaluation(results: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        last_department_metrics.clear()
        last_department_metrics.update(_weighted_mean(results))
        routes.note_nll([last_department_metrics.get(f"{_NLL_PREFIX}{i}", 0.0) for i in range(len(model.temperature_grid()))])
        return {k: v for k, v in last_department_metrics.items() if not k.startswith(_NLL_PREFIX)}

    strategy = _Float32FedAvg(
        routes=routes,
        fraction_fit=1.0,
        fraction_evaluate=1.0,
        min_fit_clients=min_nodes,
        min_evaluate_clients=min_nodes,
        min_available_clients=min_nodes,
        initial_parameters=ndarrays_to_parameters(model.get_arrays()),
        evaluate_fn=central_evaluation,
        on_fit_config_fn=lambda server_round: {"server-round": server_round, **idf_config},
        on_evaluate_config_fn=lambda server_round: {**_legacy_config(routes.evaluation_config()), **idf_config},
        fit_metrics_aggregation_fn=lambda results: {k: v for k, v in _weighted_mean(results).items() if not k.startswith(_COUNT_PREFIX)},
        evaluate_metrics_aggregation_fn=department_evaluation,
    )
    legacy = LegacyContext(context, config=ServerConfig(num_rounds=config.int("num-server-rounds"), round_timeout=config.float("round-timeout-s")), strategy=strategy)
    fit = _TimedFit(workflow)
    DefaultWorkflow(fit_workflow=fit)(grid, legacy)
    model.set_arrays(legacy.state.array_records[MAIN_PARAMS_RECORD].to_numpy_ndarrays())
    routes.apply(model)
    model.metadata = {"run_id": run_id, "strategy": "fedavg", "secure_aggregation": "secagg+", "rounds": config.int("num-server-rounds"), **idf_facts}
    model.save(out_dir)
    completed = len(fit.seconds)
    metrics: dict[str, object] = {
        "run_id": run_id,
        "strategy": "fedavg",
        "secure_aggregation": asdict(chosen),
        "num_rounds": config.int("num-server-rounds"),
        **idf_facts,
        "completed_rounds": completed,
        "skipped_rounds": [r for r in range(1, config.int("num-server-rounds") + 1) if r > completed],
        "model_bytes": model.size_bytes,
        "temperature": model.temperature,
        "secagg_seconds_per_round": fit.seconds,
        # The saved model's: the legacy workflow evaluates centrally before the departments do, so
        # the last round's central evaluation still scored with the calibration of the round before.
        "final_central": evaluate_centrally(model, eval_path, config, cache=eval_cache) if eval_path else {},
        "final_departments": {k: v for k, v in last_department_metrics.items() if not k.startswith(_NLL_PREFIX)},
        "rounds": rounds,
        "train_seconds": round(time.monotonic() - started, 2),
    }
    return finish_run(out_dir, metrics, hook=hook, run_id=run_id, last_round=config.int("num-server-rounds"))


def build_secagg_server_app(overrides: Mapping[str, object] | None = None, *, settings: SecAggSettings | None = None) -> ServerApp:
    """A ServerApp running SecAgg+ FedAvg; `overrides` are run-config values (as in `server_app.py`)."""
    extra = dict(overrides or {})
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        config = TaskConfig.from_run_config({**dict(context.run_config), **extra})
        run_secagg_server(grid=grid, context=context, config=config, settings=settings)

    return app


def _run_config(partitions: Sequence[LabelledTexts], out: Path, run_config: Mapping[str, object] | None, state_dir: str | Path | None, *, secure: bool = True) -> dict[str, object]:
    config = prepare_run(partitions, out_dir=out, run_config=run_config, state_dir=state_dir, defaults={"strategy": "fedavg"})
    if secure:
        check_secagg_config(TaskConfig.from_run_config(config))
    return config


def run_secagg_simulation(
    partitions: Sequence[LabelledTexts],
    *,
    out_dir: str | Path,
    run_config: Mapping[str, object] | None = None,
    state_dir: str | Path | None = None,
    settings: SecAggSettings | None = None,
    num_cpus: int = 2,
    verbose: bool = False,
) -> dict[str, object]:
    """Like `federation.simulation.run_federated_simulation`, with SecAgg+ FedAvg (Flower's simulation engine)."""
    config = _run_config(partitions, Path(out_dir), run_config, state_dir)
    return simulate_with_flower(
        build_secagg_server_app(config, settings=settings),
        build_secagg_client_app(config, settings=settings),
        config,
        num_supernodes=len(partitions),
        num_cpus=num_cpus,
        verbose=verbose,
    )


def run_counted_in_process(
    partitions: Sequence[LabelledTexts],
    *,
    out_dir: str | Path,
    run_config: Mapping[str, object] | None = None,
    secure: bool = True,
    state_dir: str | Path | None = None,
    settings: SecAggSettings | None = None,
    client_mods: Sequence[Any] = (),
    run_id: int = 1,
) -> dict[str, object]:
    """SecAgg+ FedAvg (or, `secure=False`, the plain Message-API app) through a byte-counting in-process grid.

    For tests and the privacy benchmark: metrics add the wire bytes per department per round.
    With `secure`, `client_mods` run inside `secaggplus_mod`, so they see each reply before masking.
    """
    from flwr.supercore.task_identity import TaskIdentity

    from federation.client_app import build_client_app
    from federation.server_app import run_server

    out = Path(out_dir)
    config = {"quorum-wait-s": 0, **_run_config(partitions, out, run_config, state_dir, secure=secure)}
    client = build_secagg_client_app(config, settings=settings, extra_mods=client_mods) if secure else build_client_app(config, extra_mods=client_mods)
    grid = CountingGrid(client, [{"partition-id": i, "num-partitions": len(partitions)} for i in range(len(partitions))], run_id=run_id)
    saved = (TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = run_id, 0, run_id
    logging.getLogger("flwr").setLevel(logging.WARNING)
    task_config = TaskConfig.from_run_config(config)
    try:
        if secure:
            context = Context(run_id=run_id, node_id=0, node_config={}, state=RecordDict(), run_config={})
            metrics = run_secagg_server(grid=grid, context=context, config=task_config, settings=settings)  # type: ignore[arg-type]
        else:
            metrics = run_server(grid=grid, config=task_config, run_id=str(run_id))  # type: ignore[arg-type]
    finally:
        TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = saved
    rounds = max(1, int(metrics["num_rounds"]))  # type: ignore[call-overload]
    metrics["failures"] = grid.failures
    metrics["wire_bytes_per_department_per_round"] = (grid.bytes_down + grid.bytes_up) / rounds / len(partitions)
    metrics["wire_bytes_up_per_department_per_round"] = grid.bytes_up / rounds / len(partitions)
    return metrics


class CountingGrid(InProcessGrid):
    """An in-process grid that sends every message through Flower's wire format and counts its bytes each way.

    The round trip through protobuf matters: SecAgg+ messages share records between departments,
    and `secaggplus_mod` edits the records it receives.
    """

    def __init__(self, client_app: object, node_configs: Sequence[Mapping[str, object]], *, run_id: int = 1) -> None:
        super().__init__(client_app, node_configs, run_id=run_id)
        self.run = SimpleNamespace(run_id=run_id)  # the legacy workflow registers nodes under grid.run.run_id
        self.bytes_down = 0
        self.bytes_up = 0

    def send_and_receive(self, messages: Any, *, timeout: float | None = None) -> list[Any]:
        """Deliver wire copies as InProcessGrid does, counting the serialised bytes."""
        protos = [message_to_proto(m) for m in messages]
        self.bytes_down += sum(p.ByteSize() for p in protos)
        replies = super().send_and_receive([message_from_proto(p) for p in protos], timeout=timeout)
        reply_protos = [message_to_proto(r) for r in replies]
        self.bytes_up += sum(p.ByteSize() for p in reply_protos)
        return [message_from_proto(p) for p in reply_protos]


server_app = build_secagg_server_app()
client_app = build_secagg_client_app()
