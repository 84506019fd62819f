"""Aggregation strategies selectable by name, with quorums and round timeouts sized for 5–20 departments.

Flower's own strategies wait forever for `min_available_nodes` and aggregate whatever replies arrive;
these wait a bounded time, skip rounds that miss the quorum, trim at least one update per side from
three departments up, drop (`filtered`) updates that point away from the coordinate-wise median update,
and (`classwise`) average each output class only over the departments that hold it. `cocoa` is not an
average at all: departments run dual coordinate ascent (`federation.dual`) and the server adds their
changes, which converges to the centralized model whatever the departments' label mix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from logging import WARNING
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, FedMedian, FedProx, Krum, Strategy
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords
from flwr.supercore import log

COLUMN_WEIGHTS = ("holders", "positives")
STRATEGY_NAMES = ("cocoa", "fedavg", "classwise", "fedprox", "median", "trimmed", "classwise-trimmed", "filtered", "classwise-filtered", "krum")


class QuorumNotReached(RuntimeError):
    """Fewer departments than the quorum connected within the wait limit."""


def wait_for_nodes(grid: Grid, min_nodes: int, timeout_s: float, poll_s: float = 0.5) -> list[int]:
    """Node ids once at least `min_nodes` are connected; raises QuorumNotReached after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = list(grid.get_node_ids())
        if len(nodes) >= min_nodes:
            return nodes
        if time.monotonic() >= deadline:
            raise QuorumNotReached(f"only {len(nodes)} of the required {min_nodes} departments connected within {timeout_s:.0f} s")
        time.sleep(poll_s)


def trim_count(num_updates: int, beta: float) -> int:
    """Updates cut from each side: at least one from 3 updates up, never so many that none is left."""
    if num_updates < 3:
        return 0
    return min(max(1, math.floor(beta * num_updates)), (num_updates - 1) // 2)


def trimmed_mean(stacked: np.ndarray, k: int) -> np.ndarray:
    """Coordinate-wise mean after dropping the k smallest and k largest values along axis 0."""
    if k == 0:
        return stacked.mean(axis=0)
    ordered = np.sort(stacked, axis=0)
    return ordered[k : stacked.shape[0] - k].mean(axis=0)


def clip_to_median_norm(updates: list[list[np.ndarray]], current: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Scale each department's update (its change to `current`) down to the median update norm.

    A boosted update (model replacement) then weighs no more than a typical one before trimming.
    """
    deltas = [[u.astype(np.float64) - c for u, c in zip(update, current, strict=True)] for update in updates]
    norms = np.asarray([math.sqrt(sum(float((d * d).sum()) for d in ds)) for ds in deltas])
    bound = float(np.median(norms))
    scales = np.minimum(1.0, bound / np.maximum(norms, 1e-12))
    return [[(c + d * s).astype(np.float32) for c, d in zip(current, ds, strict=True)] for ds, s in zip(deltas, scales, strict=True)]


def outlying_updates(updates: list[list[np.ndarray]], current: list[np.ndarray], *, max_drop: int, relative_cosine: float = 0.5) -> list[int]:
    """Indices of at most `max_drop` updates that point away from the coordinate-wise median update.

    An update is outlying when its cosine to the median update is negative, or below
    `relative_cosine` × the median of all departments' cosines. A sign-flipped update (boosted or
    not) has a negative cosine; a label-flipping department's is small and positive (0.03–0.13
    against 0.25–0.45 for honest ones on zhihu). Clipping only shrinks such an update and trimming
    only cuts its extreme coordinates, so it is dropped whole. The most outlying go first; at most
    `max_drop`, so partial-label departments that merely disagree cannot all be dropped in one round.
    """
    if max_drop <= 0 or len(updates) < 3:
        return []
    flat = np.stack([np.concatenate([(u.astype(np.float64) - c).ravel() for u, c in zip(update, current, strict=True)]) for update in updates])
    reference = np.median(flat, axis=0)
    ref_norm = float(np.linalg.norm(reference))
    if ref_norm == 0.0:
        return []
    cosines = flat @ reference / (np.maximum(np.linalg.norm(flat, axis=1), 1e-12) * ref_norm)
    bound = max(0.0, relative_cosine * float(np.median(cosines)))
    order = [int(i) for i in np.argsort(cosines) if cosines[i] < bound]
    return sorted(order[:max_drop])


def metric_list(msg: Message, key: str) -> list[float] | None:
    """A list metric of a reply's (first) MetricRecord, None when it has none."""
    record = next(iter(msg.content.metric_records.values()), {})
    return list(record[key]) if key in record else None  # type: ignore[arg-type]


def _measured(msg: Message) -> bool:
    """False for an evaluation reply that scored no held-out rows: it has nothing to average."""
    if msg.has_error():
        return True
    record = next(iter(msg.content.metric_records.values()), {})
    return float(record.get("num-examples", 1)) > 0  # type: ignore[arg-type]


def _arrays(msg: Message) -> list[np.ndarray]:
    return next(iter(msg.content.array_records.values())).to_numpy_ndarrays()


def _array_keys(msg: Message) -> list[str]:
    return list(next(iter(msg.content.array_records.values())).keys())


def classwise_combine(
    updates: list[list[np.ndarray]],
    class_counts: list[list[float] | None],
    num_examples: list[float],
    *,
    head_layers: dict[int, int],
    trim_beta: float | None = None,
    column_weights: str = "holders",
) -> list[np.ndarray]:
    """Combine departments' parameters; each output-layer class column is averaged over the departments holding that class.

    `head_layers` maps a parameter index to the index (in `class_counts`' inner lists' owners) of its head:
    weight matrices have classes on the last axis, biases on axis 0. A column is the mean over the
    departments with a non-zero count of its class, weighted by their examples (`holders`: for
    one-vs-rest columns, which learn from every holder's negatives too) or by their counts of the
    class (`positives`: for softmax, where only the positives move a column up); classes nobody
    holds fall back to the example-weighted mean over all. With `trim_beta`, each class column is a trimmed mean over the
    departments that hold the class (or over all departments when fewer than three do).
    """
    n = len(updates)
    ex = np.asarray(num_examples, dtype=np.float64)
    out = []
    for j in range(len(updates[0])):
        stacked = np.stack([u[j] for u in updates]).astype(np.float64)
        counts = class_counts[head_layers[j]] if j in head_layers else None
        if counts is None:
            out.append(_combine_columns(stacked, ex, None, trim_beta, column_weights).astype(np.float32))
            continue
        counts_array = np.asarray(counts, dtype=np.float64).reshape(n, -1)
        out.append(_combine_columns(stacked, ex, counts_array, trim_beta, column_weights).astype(np.float32))
    return out


def _combine_columns(
    stacked: np.ndarray, ex: np.ndarray, counts: np.ndarray | None, trim_beta: float | None, column_weights: str
) -> np.ndarray:
    n = stacked.shape[0]
    if counts is None:
        if trim_beta is not None:
            return trimmed_mean(stacked, trim_count(n, trim_beta))
        return np.tensordot(ex / ex.sum(), stacked, axes=1)
    result = np.empty(stacked.shape[1:], dtype=np.float64)
    for c in range(counts.shape[1]):
        column = stacked[..., c]
        holders = counts[:, c] > 0
        if trim_beta is not None:
            pool = column[holders] if holders.sum() >= 3 else column
            result[..., c] = trimmed_mean(pool, trim_count(pool.shape[0], trim_beta))
        elif holders.any():
            w = ex * holders if column_weights == "holders" else counts[:, c]
            result[..., c] = np.tensordot(w / w.sum(), column, axes=1)
        else:
            result[..., c] = np.tensordot(ex / ex.sum(), column, axes=1)
    return result


class QuorumMixin:
    """Bounded waiting for departments and a per-round quorum on replies (skipped rounds keep the model)."""

    quorum_wait_s: float
    min_available_nodes: int
    min_train_nodes: int
    skipped_rounds: list[int]
    dropped_updates: list[dict[str, object]]
    last_evaluate_metrics: MetricRecord | None
    current_arrays: list[np.ndarray] | None

    def __init__(self, *, quorum_wait_s: float = 300.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.quorum_wait_s = quorum_wait_s
        self.skipped_rounds = []
        self.dropped_updates = []
        self.last_evaluate_metrics = None
        self.current_arrays = None

    def _wait(self, grid: Grid) -> None:
        wait_for_nodes(grid, self.min_available_nodes, self.quorum_wait_s)

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """Wait (bounded) for the quorum, remember the model sent out, then sample as the base strategy does."""
        self._wait(grid)
        self.current_arrays = arrays.to_numpy_ndarrays()
        return super().configure_train(server_round, arrays, config, grid)  # type: ignore[misc]

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """Wait (bounded) for the quorum, then sample as the base strategy does."""
        self._wait(grid)
        return super().configure_evaluate(server_round, arrays, config, grid)  # type: ignore[misc]

    def valid_train_replies(self, server_round: int, replies: Iterable[Message]) -> list[Message]:
        """The error-free train replies of a round that met the quorum (empty if it did not)."""
        replies = list(replies)
        if not self.quorum_met(server_round, replies):
            return []
        valid, _ = self._check_and_log_replies(replies, is_train=True)  # type: ignore[attr-defined]
        return list(valid)

    def updates_of(self, replies: list[Message], *, clip: bool) -> list[list[np.ndarray]]:
        """The replies' arrays, optionally clipped to the median update norm around the model sent out."""
        updates = [_arrays(m) for m in replies]
        if clip and self.current_arrays is not None:
            updates = clip_to_median_norm(updates, self.current_arrays)
        return updates

    def robust_updates(self, server_round: int, replies: list[Message], *, beta: float) -> tuple[list[Message], list[list[np.ndarray]]]:
        """Replies and updates clipped to the median norm, without those pointing away from the median update (logged)."""
        updates = self.updates_of(replies, clip=True)
        if self.current_arrays is None:
            return replies, updates
        dropped = set(outlying_updates(updates, self.current_arrays, max_drop=trim_count(len(updates), beta)))
        if dropped:
            nodes = sorted(replies[i].metadata.src_node_id for i in dropped)
            log(WARNING, "round %s: dropped %s update(s) pointing away from the median update (nodes %s)", server_round, len(dropped), nodes)
            self.dropped_updates.append({"round": server_round, "nodes": nodes})
        kept = [i for i in range(len(replies)) if i not in dropped]
        return [replies[i] for i in kept], [updates[i] for i in kept]

    def quorum_met(self, server_round: int, replies: list[Message]) -> bool:
        """True if enough error-free replies arrived; otherwise record the round as skipped."""
        valid = [m for m in replies if not m.has_error()]
        if len(valid) < self.min_train_nodes:
            log(WARNING, "round %s: %s of %s required replies; keeping the previous model", server_round, len(valid), self.min_train_nodes)
            self.skipped_rounds.append(server_round)
            return False
        return True

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Aggregate only when the quorum of replies arrived in time."""
        replies = list(replies)
        if not self.quorum_met(server_round, replies):
            return None, None
        return super().aggregate_train(server_round, replies)  # type: ignore[misc]

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        """Aggregate the evaluation metrics of departments that held rows out; keep the latest for calibration.

        With none (`holdout-fraction` 0, or departments too small to hold a row out), the round has no
        evaluation metrics and the calibration stays as it was.
        """
        metrics = super().aggregate_evaluate(server_round, [m for m in replies if _measured(m)])  # type: ignore[misc]
        if metrics is not None:
            self.last_evaluate_metrics = metrics
        return metrics


class QuorumFedAvg(QuorumMixin, FedAvg):
    """FedAvg weighted by examples, with bounded waiting and a reply quorum."""


class QuorumFedProx(QuorumMixin, FedProx):
    """FedProx (departments add the proximal term), with bounded waiting and a reply quorum."""


class QuorumFedMedian(QuorumMixin, FedMedian):
    """Coordinate-wise median, with bounded waiting and a reply quorum."""


class QuorumKrum(QuorumMixin, Krum):
    """Krum (picks the update closest to its neighbours), with bounded waiting and a reply quorum."""


class ClasswiseFedAvg(QuorumMixin, FedAvg):
    """FedAvg whose output-layer class columns are weighted by departments' per-class sample counts.

    A department without a class sends that column pushed down (it only ever saw the class as a
    negative); plain FedAvg lets such departments outvote the few that hold the class and erase it.
    Departments send `label-counts` (and `request-type-counts`) in their train MetricRecord;
    `column_weights` is how holders are weighted (see `classwise_combine`).
    With `trim_beta` set, updates are first clipped to the median update norm and each column is a
    trimmed mean over the departments holding the class.
    """

    def __init__(
        self, *, trim_beta: float | None = None, drop_outlying: bool = False, column_weights: str = "holders", **kwargs: Any
    ) -> None:
        if drop_outlying and trim_beta is None:
            raise ValueError("drop_outlying needs trim_beta (the share of departments that may be dropped)")
        if column_weights not in COLUMN_WEIGHTS:
            raise ValueError(f"unknown column weights {column_weights!r}; use {' or '.join(COLUMN_WEIGHTS)}")
        super().__init__(**kwargs)
        self.column_weights = column_weights
        self.trim_beta = trim_beta
        self.drop_outlying = drop_outlying

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Class-wise weighted (or trimmed) aggregation of the replies that met the quorum."""
        valid = self.valid_train_replies(server_round, replies)
        if not valid:
            return None, None
        keys = _array_keys(valid[0])
        if self.drop_outlying:
            valid, updates = self.robust_updates(server_round, valid, beta=self.trim_beta)  # type: ignore[arg-type]
        else:
            updates = self.updates_of(valid, clip=self.trim_beta is not None)
        examples = [float(next(iter(m.content.metric_records.values()))[self.weighted_by_key]) for m in valid]  # type: ignore[arg-type]
        counts = [metric_list(m, "label-counts") for m in valid]
        rt_counts = [metric_list(m, "request-type-counts") for m in valid]
        if any(c is None for c in counts):
            arrays = aggregate_arrayrecords([m.content for m in valid], self.weighted_by_key)
        else:
            heads = {0: 0, 1: 0}
            if len(updates[0]) == 4 and all(c is not None for c in rt_counts):
                heads.update({2: 1, 3: 1})
            per_head = [np.asarray(counts, dtype=np.float64)]
            if 2 in heads:
                per_head.append(np.asarray(rt_counts, dtype=np.float64))
            combined = classwise_combine(
                updates,
                per_head,  # type: ignore[arg-type]
                examples,
                head_layers=heads,
                trim_beta=self.trim_beta,
                column_weights=self.column_weights,
            )
            arrays = ArrayRecord({k: Array(np.asarray(v)) for k, v in zip(keys, combined, strict=True)})
        metrics = self.train_metrics_aggr_fn([m.content for m in valid], self.weighted_by_key)
        return arrays, metrics


class DualAscent(QuorumMixin, FedAvg):
    """CoCoA+: each department's reply is the model plus its own change; the server adds all changes.

    The train config tells departments σ (how many changes this round adds, which makes the sum an
    ascent step of the global dual) and which proposals were added so far (`dual-accepted`, int64
    bytes): a department keeps its new dual variables only once the server has added the change it
    proposed with them, so a reply that arrived late or in a skipped round leaves no trace. A
    department whose change was added before and that replies without its variables (its SuperNode
    restarted) is logged in `dual_restarts`: its earlier change stays in the model.

    With `kappa` > 0 the rounds are Catalyst stages of `stage_rounds` (Lin, Mairal and Harchaoui,
    "A Universal Catalyst for First-Order Optimization", NeurIPS 2015): each stage solves the
    better-conditioned ½‖w‖² + κ/2‖w − z‖² + C Σ ℓ, whose model is the anchor κz/(1+κ) plus
    Σ α·y·x/(1+κ) (departments get `dual-scale` = 1/(1+κ) and keep their variables across stages),
    and between stages the server moves z to an extrapolation of the last two stage ends.

    With `spread_nodes` (the departments counted in the run's per-bucket spread, which departments use
    as a per-feature σ), each message also says how many of the round's departments were not counted
    (`dual-sigma-unknown`): they may hold any feature, so departments add that many to every bucket's count.
    """

    def __init__(self, *, kappa: float = 0.0, stage_rounds: int = 2, spread_nodes: frozenset[int] | None = None, **kwargs: Any) -> None:
        if kappa < 0 or stage_rounds < 1:
            raise ValueError(f"catalyst needs kappa >= 0 and stage rounds >= 1, got {kappa} and {stage_rounds}")
        super().__init__(**kwargs)
        self.accepted: list[int] = []
        self.added_nodes: set[int] = set()
        self.dual_restarts: list[dict[str, object]] = []
        self.kappa = kappa
        self.stage_rounds = stage_rounds
        self.spread_nodes = spread_nodes
        self.catalyst_alpha = math.sqrt(1.0 / (1.0 + kappa))
        self.anchor: list[np.ndarray] | None = None
        self.model_anchor: list[np.ndarray] | None = None
        self.stage_end: list[np.ndarray] | None = None

    def _stage_model(self, server_round: int, model: list[np.ndarray]) -> list[np.ndarray]:
        """The model to send: Flower's model on the current anchor, which moves at a stage boundary."""
        if self.anchor is None or self.model_anchor is None or self.stage_end is None:
            self.anchor = self.model_anchor = [np.zeros(a.shape) for a in model]
            self.stage_end = [a.astype(np.float64) for a in model]
        current = [m + a - old for m, a, old in zip(model, self.anchor, self.model_anchor, strict=True)]
        if server_round > 1 and (server_round - 1) % self.stage_rounds == 0:
            q, a = 1.0 / (1.0 + self.kappa), self.catalyst_alpha
            a_next = 0.5 * (q - a * a + math.sqrt((q - a * a) ** 2 + 4 * a * a))
            beta = a * (1 - a) / (a * a + a_next)
            self.catalyst_alpha = a_next
            anchor = [self.kappa * q * (w + beta * (w - end)) for w, end in zip(current, self.stage_end, strict=True)]
            self.stage_end = current
            current = [w + new - old for w, new, old in zip(current, anchor, self.anchor, strict=True)]
            self.anchor = anchor
        return current

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Iterable[Message]:
        """The base strategy's train messages, each with σ, the Catalyst scale and the proposals accepted so far."""
        if self.kappa > 0:
            moved = self._stage_model(server_round, arrays.to_numpy_ndarrays())
            arrays = ArrayRecord({k: Array(np.asarray(v, dtype=np.float32)) for k, v in zip(arrays.keys(), moved, strict=True)})
        messages = list(super().configure_train(server_round, arrays, config, grid))
        unknown = sum(m.metadata.dst_node_id not in self.spread_nodes for m in messages) if self.spread_nodes is not None else len(messages)
        for msg in messages:
            msg.content["config"]["dual-sigma"] = len(messages)
            msg.content["config"]["dual-sigma-unknown"] = unknown
            msg.content["config"]["dual-scale"] = 1.0 / (1.0 + self.kappa)
            msg.content["config"]["dual-accepted"] = np.asarray(self.accepted, dtype=np.int64).tobytes()
        return messages

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """The model sent out plus every valid reply's change; records the replies' proposals as accepted."""
        valid = [m for m in self.valid_train_replies(server_round, replies) if "dual-proposal" in next(iter(m.content.metric_records.values()))]
        if not valid or self.current_arrays is None:
            return None, None
        keys = _array_keys(valid[0])
        updates = self.updates_of(valid, clip=False)
        summed = [c.astype(np.float64) + sum(u[j].astype(np.float64) - c for u in updates) for j, c in enumerate(self.current_arrays)]
        for msg in valid:
            metrics = next(iter(msg.content.metric_records.values()))
            node = msg.metadata.src_node_id
            if node in self.added_nodes and not metrics.get("dual-resumed", 1):
                log(WARNING, "round %s: node %s lost its dual variables (restarted?); its earlier change stays in the model", server_round, node)
                self.dual_restarts.append({"round": server_round, "node": node})
            self.added_nodes.add(node)
            self.accepted.append(int(metrics["dual-proposal"]))  # type: ignore[arg-type]
        arrays = ArrayRecord({k: Array(np.asarray(v, dtype=np.float32)) for k, v in zip(keys, summed, strict=True)})
        self.model_anchor = self.anchor
        metrics = self.train_metrics_aggr_fn([m.content for m in valid], self.weighted_by_key)
        for key in ("dual-proposal", "dual-resumed"):  # per-department bookkeeping, meaningless averaged
            metrics.pop(key, None)
        return arrays, metrics


class TrimmedAvg(QuorumMixin, FedAvg):
    """Updates clipped to the median update norm, then a coordinate-wise trimmed mean that trims at
    least one update per side from three departments up.

    Flower's FedTrimmedAvg cuts int(beta * n) per side, which is zero below five nodes at beta=0.2.
    """

    def __init__(self, *, beta: float = 0.2, drop_outlying: bool = False, **kwargs: Any) -> None:
        if not 0.0 <= beta < 0.5:
            raise ValueError("beta must be in [0, 0.5)")
        super().__init__(**kwargs)
        self.beta = beta
        self.drop_outlying = drop_outlying

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Trimmed-mean aggregation of the replies that met the quorum."""
        valid = self.valid_train_replies(server_round, replies)
        if not valid:
            return None, None
        keys = _array_keys(valid[0])
        k = trim_count(len(valid), self.beta)
        if self.drop_outlying:
            before = len(valid)
            valid, updates = self.robust_updates(server_round, valid, beta=self.beta)
            k = max(0, k - (before - len(valid)))
        else:
            updates = self.updates_of(valid, clip=True)
        arrays = ArrayRecord(
            {key: Array(np.asarray(trimmed_mean(np.stack([u[j] for u in updates]), k), dtype=np.float32)) for j, key in enumerate(keys)}
        )
        metrics = self.train_metrics_aggr_fn([m.content for m in valid], self.weighted_by_key)
        return arrays, metrics


def build_strategy(
    name: str,
    *,
    min_nodes: int,
    quorum_wait_s: float,
    trim_beta: float = 0.2,
    prox_mu: float = 0.01,
    expected_malicious: int = 1,
    column_weights: str = "holders",
    catalyst_kappa: float = 0.0,
    catalyst_rounds: int = 2,
    spread_nodes: frozenset[int] | None = None,
) -> Strategy:
    """A strategy by name (see STRATEGY_NAMES); every one samples all connected departments each round.

    `min_nodes` is the quorum: departments that must be connected to start a round and replies that
    must arrive within the round timeout for the round to count. `column_weights` applies to the
    class-wise strategies (`holders` for one-vs-rest models, `positives` for softmax); `spread_nodes`
    to `cocoa` (see DualAscent).
    """
    common: dict[str, Any] = {
        "fraction_train": 1.0,
        "fraction_evaluate": 1.0,
        "min_train_nodes": min_nodes,
        "min_evaluate_nodes": min_nodes,
        "min_available_nodes": min_nodes,
        "quorum_wait_s": quorum_wait_s,
    }
    if name == "cocoa":
        return DualAscent(kappa=catalyst_kappa, stage_rounds=catalyst_rounds, spread_nodes=spread_nodes, **common)
    if name == "fedavg":
        return QuorumFedAvg(**common)
    if name == "classwise":
        return ClasswiseFedAvg(column_weights=column_weights, **common)
    if name == "classwise-trimmed":
        return ClasswiseFedAvg(trim_beta=trim_beta, column_weights=column_weights, **common)
    if name == "fedprox":
        return QuorumFedProx(proximal_mu=prox_mu, **common)
    if name == "median":
        return QuorumFedMedian(**common)
    if name == "trimmed":
        return TrimmedAvg(beta=trim_beta, **common)
    if name == "filtered":
        return TrimmedAvg(beta=trim_beta, drop_outlying=True, **common)
    if name == "classwise-filtered":
        return ClasswiseFedAvg(trim_beta=trim_beta, drop_outlying=True, column_weights=column_weights, **common)
    if name == "krum":
        return QuorumKrum(num_malicious_nodes=expected_malicious, **common)
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}")
