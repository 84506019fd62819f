"""The coordinating side: a Flower ServerApp that runs the chosen strategy and writes the final model.

Writes into run config `model-out-dir`: `rounds.jsonl` (one line per round), then `model.npz` +
`model.json` (the calibrated model, loadable with `IntentModel.load`) and `metrics.json`; calls the
optional `round-hook` after every round and once with `final=True`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from logging import WARNING
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import DifferentialPrivacyClientSideFixedClipping, Strategy
from flwr.supercore import log

from federation.model import IntentModel, pick_temperature
from federation.strategies import QuorumNotReached, build_strategy, metric_list, wait_for_nodes
from federation.task import DUAL_STRATEGY, IDF_CONFIG_KEY, SPREAD_CONFIG_KEY, FeatureCounts, RoundEvent, TaskConfig, append_round, check_dual_config, evaluate_centrally, load_round_hook, spread_bytes, write_metrics


def _plain(record: MetricRecord | None) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in (record or {}).items()}


def _summary(record: MetricRecord | None) -> dict[str, object]:
    return {k: v for k, v in _plain(record).items() if not isinstance(v, list)}


class StrategyWrapper(Strategy):
    """A strategy that does what the wrapped one does; subclasses change some of the steps."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """As the wrapped strategy."""
        return self.inner.configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """As the wrapped strategy."""
        return self.inner.aggregate_train(server_round, replies)

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """As the wrapped strategy."""
        return self.inner.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        """As the wrapped strategy."""
        return self.inner.aggregate_evaluate(server_round, replies)

    def summary(self) -> None:
        """The wrapped strategy's summary."""
        self.inner.summary()


class ServerMomentum(StrategyWrapper):
    """FedAvgM: heavy-ball momentum on the server over whatever update the wrapped strategy aggregated.

    The velocity is `momentum * velocity + (aggregate - model sent out)`, and the next model is the
    model sent out plus the velocity; a skipped round (no aggregate) leaves model and velocity alone.
    """

    def __init__(self, inner: Strategy, *, momentum: float) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"server momentum must be in [0, 1), got {momentum}")
        super().__init__(inner)
        self.momentum = momentum
        self.sent: list[np.ndarray] | None = None
        self.velocity: list[np.ndarray] | None = None

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """Remember the model sent out, then configure as the wrapped strategy does."""
        self.sent = arrays.to_numpy_ndarrays()
        return self.inner.configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """The wrapped strategy's aggregate, moved along the server velocity."""
        arrays, metrics = self.inner.aggregate_train(server_round, replies)
        if arrays is None or self.sent is None:
            return arrays, metrics
        delta = [new.astype(np.float32) - old for new, old in zip(arrays.to_numpy_ndarrays(), self.sent, strict=True)]
        if self.velocity is None:
            self.velocity = delta
        else:
            self.velocity = [self.momentum * v + d for v, d in zip(self.velocity, delta, strict=True)]
        moved = [(old + v).astype(np.float32) for old, v in zip(self.sent, self.velocity, strict=True)]
        return ArrayRecord({k: Array(a) for k, a in zip(arrays.keys(), moved, strict=True)}), metrics


class RouteCalibration:
    """The temperature and label counts each round's evaluation scores with, so departments measure the
    model as the hotline will route with it (`IntentModel.scores`).

    The temperature is the one the previous round's evaluation calibrated (none in round 1, which is
    then scored without prior correction), or `temperature` when the run fixes it (run config
    `temperature` > 0: a refit on every row takes its evaluation run's); the label counts are the
    latest each department sent with its training, summed.
    """

    def __init__(self, num_labels: int, *, temperature: float = 0.0) -> None:
        self.num_labels = num_labels
        self.counts_by_node: dict[int, np.ndarray] = {}
        self.fixed = temperature > 0
        self.calibrated: float | None = temperature if self.fixed else None
        self.evaluated_with: dict[str, object] = {}

    def note_counts(self, node: int, counts: Sequence[float] | None) -> None:
        """A department's label counts from its training reply (ignored unless well-formed)."""
        array = np.asarray(counts or [], dtype=np.float64)
        if array.shape == (self.num_labels,) and np.isfinite(array).all() and (array >= 0).all():
            self.counts_by_node[node] = array

    def evaluation_config(self) -> dict[str, object]:
        """What this round's evaluation scores with (recorded for `apply`)."""
        self.evaluated_with = {}
        if self.calibrated is not None:
            self.evaluated_with = {"temperature": self.calibrated}
            if self.counts_by_node:
                self.evaluated_with["label-counts"] = [int(c) for c in sum(self.counts_by_node.values())]
        return dict(self.evaluated_with)

    def note_nll(self, nll: Sequence[float]) -> None:
        """The departments' summed NLL per grid temperature: it calibrates the next round (unless the run
        fixes the temperature or the evaluation measured nothing)."""
        if not self.fixed and any(nll):
            self.calibrated = pick_temperature(list(nll))

    def apply(self, model: IntentModel) -> None:
        """Give `model` the temperature and label counts the last evaluation scored with (a one-round run,
        scored uncorrected, keeps the temperature its evaluation calibrated: the same routes)."""
        model.temperature = float(self.evaluated_with.get("temperature", self.calibrated or 1.0))  # type: ignore[arg-type]
        model.label_counts = tuple(self.evaluated_with.get("label-counts", ()))  # type: ignore[arg-type]


class Calibration(StrategyWrapper):
    """A strategy whose evaluations score with `RouteCalibration`'s temperature and label counts."""

    def __init__(self, inner: Strategy, *, num_labels: int, temperature: float = 0.0) -> None:
        super().__init__(inner)
        self.routes = RouteCalibration(num_labels, temperature=temperature)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Note each department's label counts, then aggregate as the wrapped strategy does."""
        replies = list(replies)
        for reply in replies:
            self.routes.note_counts(reply.metadata.src_node_id, None if reply.has_error() else metric_list(reply, "label-counts"))
        return self.inner.aggregate_train(server_round, replies)

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """The wrapped strategy's evaluate messages, told the temperature and summed label counts."""
        return self.inner.configure_evaluate(server_round, arrays, ConfigRecord({**config, **self.routes.evaluation_config()}), grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        """The wrapped strategy's metrics; their NLL per temperature calibrates the next round."""
        metrics = self.inner.aggregate_evaluate(server_round, replies)
        if metrics is not None and "nll-by-temperature" in metrics:
            self.routes.note_nll(metrics["nll-by-temperature"])  # type: ignore[arg-type]
        return metrics


@dataclass(frozen=True)
class FeatureStatistics:
    """What the statistics exchange before round 1 gave: the IDF weights, how many departments hold each
    hashed bucket (`spread`, the per-feature σ bound of CoCoA+), the nodes that answered, and facts for
    the model's metadata. `idf` and `spread` are None when the run trains without them."""

    idf: np.ndarray | None
    spread: np.ndarray | None
    nodes: frozenset[int]
    facts: dict[str, object]


def idf_refused(config: TaskConfig) -> dict[str, object] | None:
    """Why the run trains without IDF weights whatever the departments send (None when it may have them)."""
    if not config.bool("idf-weighting"):
        return {"idf": False, "idf_reason": "idf-weighting is off"}
    if config.dp() is not None:
        return {"idf": False, "idf_reason": "record-level DP is on; exact document frequencies would not be private"}
    return None


def collect_statistics(grid: Grid, config: TaskConfig) -> FeatureStatistics:
    """The statistics exchange before round 1: sum departments' `FeatureCounts` into the feature
    weights (IDF times label concentration) and count the departments that hold each bucket.

    The run trains without them (the reason in `facts`) when record-level DP is on (exact counts would
    be an unaccounted release), when IDF weighting is switched off, or when fewer than `min-nodes`
    departments answer in time.
    """
    refused = idf_refused(config)
    if refused is not None:
        return FeatureStatistics(None, None, frozenset(), refused)
    min_nodes = config.int("min-nodes")
    try:
        nodes = wait_for_nodes(grid, min_nodes, config.float("quorum-wait-s"))
    except QuorumNotReached as exc:
        return FeatureStatistics(None, None, frozenset(), {"idf": False, "idf_reason": str(exc)})
    messages = [
        Message(content=RecordDict({"config": ConfigRecord({"statistics": "document-frequency"})}), dst_node_id=node, message_type=MessageType.QUERY)
        for node in nodes
    ]
    replies = [m for m in grid.send_and_receive(messages, timeout=config.float("round-timeout-s")) if not m.has_error()]
    n_buckets, num_labels = config.n_buckets(), len(config.labels())
    by_label = config.label_concentration() > 0
    total = FeatureCounts(
        doc_freq=np.zeros(n_buckets),
        label_doc_freq=np.zeros((n_buckets, num_labels)) if by_label else None,
        label_rows=np.zeros(num_labels) if by_label else None,
        num_docs=0.0,
    )
    wire = total.arrays()  # what each department sends: their shapes, and the bytes it costs
    shapes = {name: values.shape for name, values in wire.items()}
    spread = np.zeros(n_buckets, dtype=np.int64)
    answered: set[int] = set()
    for reply in replies:
        counts = _reply_counts(reply, shapes)
        if counts is None:
            continue
        total = total.plus(counts)
        spread += counts.doc_freq > 0
        answered.add(reply.metadata.src_node_id)
    if len(answered) < min_nodes:
        log(WARNING, "statistics: %s of %s required departments answered; training without IDF weights", len(answered), min_nodes)
        return FeatureStatistics(None, None, frozenset(), {"idf": False, "idf_reason": f"only {len(answered)} of {min_nodes} departments sent document frequencies"})
    upload = sum(values.nbytes for values in wire.values())
    facts = {"idf": True, "idf_departments": len(answered), "idf_documents": int(total.num_docs), "label_concentration": config.label_concentration(), "statistics_upload_bytes": upload}
    return FeatureStatistics(total.weights(config.label_concentration()), spread, frozenset(answered), facts)


def _reply_counts(reply: Message, shapes: Mapping[str, tuple[int, ...]]) -> FeatureCounts | None:
    """A department's counts from its statistics reply, or None when any is missing, misshapen,
    negative or not finite: a malformed answer is left out rather than allowed to poison every
    department's features."""
    stats = reply.content.array_records.get("statistics")
    metrics = reply.content.metric_records.get("metrics")
    if stats is None or metrics is None or "num-documents" not in metrics:
        return None
    docs = float(metrics["num-documents"])  # type: ignore[arg-type]
    arrays: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name not in stats:
            return None
        got = stats[name].numpy()
        if got.shape != shape or not np.isfinite(got).all() or (got < 0).any():
            return None
        arrays[name] = got.astype(np.float64)
    if not 0 <= docs < float("inf"):
        return None
    return FeatureCounts(arrays["document-frequency"], arrays.get("label-document-frequency"), arrays.get("label-rows"), docs)


def run_server(*, grid: Grid, config: TaskConfig, run_id: str) -> dict[str, object]:
    """Run all rounds on `grid`, calibrate, save the model and metrics; returns the metrics dict."""
    started = time.monotonic()
    check_dual_config(config)
    out_dir = Path(config.str("model-out-dir") or "federation-model")
    hook = load_round_hook(config.str("round-hook"))
    model = config.new_model()
    statistics = collect_statistics(grid, config)
    model.idf, idf_facts = statistics.idf, statistics.facts
    stage_config = {IDF_CONFIG_KEY: model.idf.tobytes()} if model.idf is not None else {}
    spread_config = {SPREAD_CONFIG_KEY: spread_bytes(statistics.spread)} if statistics.spread is not None and config.str("strategy") == DUAL_STRATEGY else {}
    min_nodes = config.int("min-nodes")
    inner = build_strategy(
        config.str("strategy"),
        min_nodes=min_nodes,
        quorum_wait_s=config.float("quorum-wait-s"),
        trim_beta=config.float("trim-beta"),
        prox_mu=config.float("prox-mu"),
        column_weights="positives" if config.str("loss") == "softmax" else "holders",
        catalyst_kappa=config.float("catalyst-kappa"),
        catalyst_rounds=config.int("catalyst-rounds"),
        spread_nodes=statistics.nodes if spread_config else None,
    )
    strategy: Strategy = inner
    client_dp = config.float("client-dp-noise-multiplier")
    if client_dp > 0:
        strategy = DifferentialPrivacyClientSideFixedClipping(
            inner, noise_multiplier=client_dp, clipping_norm=config.float("client-dp-clip-norm"), num_sampled_clients=min_nodes
        )
    if config.float("server-momentum") > 0:
        strategy = ServerMomentum(strategy, momentum=config.float("server-momentum"))
    calibration = Calibration(strategy, num_labels=len(model.labels), temperature=config.temperature())
    eval_path = config.str("eval-data-path")
    rounds: list[dict[str, object]] = []
    eval_cache: dict[str, object] = {}

    def after_round(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        central: dict[str, float] = {}
        if eval_path:
            probe = config.new_model()
            probe.idf = model.idf
            probe.set_arrays(arrays.to_numpy_ndarrays())
            calibration.routes.apply(probe)
            central = evaluate_centrally(probe, eval_path, config, cache=eval_cache)
        if server_round > 0:
            metrics = {"central": central, "departments": _summary(getattr(inner, "last_evaluate_metrics", None))}
            rounds.append({"round": server_round, **metrics})
            event = RoundEvent(run_id=run_id, server_round=server_round, model_out_dir=str(out_dir), metrics=metrics)
            append_round(out_dir, event)
            if hook is not None:
                hook(event)
        return MetricRecord(central) if central else None

    result = calibration.start(
        grid=grid,
        initial_arrays=ArrayRecord(model.get_arrays()),
        num_rounds=config.int("num-server-rounds"),
        timeout=config.float("round-timeout-s"),
        train_config=ConfigRecord({"local-epochs": config.int("local-epochs"), **stage_config, **spread_config}),
        evaluate_config=ConfigRecord(dict(stage_config)),
        evaluate_fn=after_round,
    )
    if result.arrays is not None and len(result.arrays) > 0:
        model.set_arrays(result.arrays.to_numpy_ndarrays())
    last_eval = _plain(getattr(inner, "last_evaluate_metrics", None))
    calibration.routes.apply(model)
    if "request-type-nll-by-temperature" in last_eval:
        model.request_type_temperature = pick_temperature(last_eval["request-type-nll-by-temperature"])  # type: ignore[arg-type]
    model.metadata = {"run_id": run_id, "strategy": config.str("strategy"), "rounds": config.int("num-server-rounds"), **idf_facts}
    model.save(out_dir)
    metrics: dict[str, object] = {
        "run_id": run_id,
        "strategy": config.str("strategy"),
        "num_rounds": config.int("num-server-rounds"),
        "skipped_rounds": list(getattr(inner, "skipped_rounds", [])),
        "dropped_updates": list(getattr(inner, "dropped_updates", [])),
        "dual_restarts": list(getattr(inner, "dual_restarts", [])),
        "model_bytes": model.size_bytes,
        "bytes_per_department_per_round": 2 * model.size_bytes + (2 * model.idf.nbytes if model.idf is not None else 0) + len(spread_config.get(SPREAD_CONFIG_KEY, b"")),
        "statistics_bytes_per_department": int(idf_facts.get("statistics_upload_bytes", 0)) + (int(model.idf.nbytes) if model.idf is not None else 0),  # type: ignore[call-overload]
        **idf_facts,
        "temperature": model.temperature,
        "client_dp_noise_multiplier": client_dp,
        "record_dp_noise_multiplier": config.float("dp-noise-multiplier"),
        "final_central": rounds[-1]["central"] if rounds else {},
        "final_departments": _summary(getattr(inner, "last_evaluate_metrics", None)),
        "rounds": rounds,
        "train_seconds": round(time.monotonic() - started, 2),
    }
    return finish_run(out_dir, metrics, hook=hook, run_id=run_id, last_round=config.int("num-server-rounds"))


def finish_run(out_dir: Path, metrics: dict[str, object], *, hook: object, run_id: str, last_round: int) -> dict[str, object]:
    """Write the run's metrics and tell the round hook (if any) that the run is final; returns the metrics."""
    write_metrics(out_dir, metrics)
    if hook is not None:
        hook(RoundEvent(run_id=run_id, server_round=last_round, model_out_dir=str(out_dir), metrics=metrics, final=True))  # type: ignore[operator]
    return metrics


def build_server_app(overrides: Mapping[str, object] | None = None) -> ServerApp:
    """A ServerApp; `overrides` are run-config values (the simulation engine has no run config of its own)."""
    extra = dict(overrides or {})
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        config = TaskConfig.from_run_config({**dict(context.run_config), **extra})
        run_server(grid=grid, config=config, run_id=str(context.run_id))

    return app


app = build_server_app()


