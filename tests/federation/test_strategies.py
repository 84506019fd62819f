"""Aggregation: class-wise weighting, trimming, quorums and round timeouts (no Flower processes)."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedTrimmedAvg
from flwr.supercore.task_identity import TaskIdentity

from federation.data import LabelledTexts
from federation.model import FeatureHasher, IntentModel
from federation.strategies import (
    ClasswiseFedAvg,
    QuorumFedAvg,
    QuorumNotReached,
    TrimmedAvg,
    build_strategy,
    classwise_combine,
    clip_to_median_norm,
    outlying_updates,
    STRATEGY_NAMES,
    trim_count,
    wait_for_nodes,
)


@pytest.fixture(autouse=True)
def _task_identity(monkeypatch):
    """Messages stamp the running task's identity; set one as a ServerApp process would have."""
    for attr, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
        monkeypatch.setattr(TaskIdentity, attr, value)


def _reply(arrays: list[np.ndarray], metrics: dict) -> Message:
    content = RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord(metrics)})
    return Message(content=content, dst_node_id=1, message_type=MessageType.TRAIN)


class FakeGrid:
    """A Grid stand-in: fixed nodes; `silent` nodes never answer within the timeout."""

    def __init__(self, nodes: list[int], silent: set[int] = frozenset(), step: float = 1.0) -> None:
        self.nodes = nodes
        self.silent = set(silent)
        self.step = step
        self.timeouts: list[float] = []

    def get_node_ids(self):
        return list(self.nodes)

    def send_and_receive(self, messages, *, timeout=None):
        self.timeouts.append(timeout)
        replies = []
        for msg in messages:
            if msg.metadata.dst_node_id in self.silent:
                continue
            arrays = [a + self.step for a in msg.content["arrays"].to_numpy_ndarrays()]
            if msg.metadata.message_type == MessageType.TRAIN:
                replies.append(Message(content=RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord({"num-examples": 10})}), reply_to=msg))
            else:
                replies.append(Message(content=RecordDict({"metrics": MetricRecord({"num-examples": 10, "accuracy": 1.0})}), reply_to=msg))
        return replies


def _train_department(texts, labels, classes, start):
    model = IntentModel(labels=classes, hasher=FeatureHasher(n_buckets=2**12), arrays=[a.copy() for a in start])
    x = model.hasher.transform(texts)
    y = model.encode_labels(labels, classes)
    model.fit(x, y, epochs=5, learning_rate=10.0, optimizer="sgd")
    return model.arrays, np.bincount(y, minlength=len(classes)).tolist(), len(y)


def test_classwise_keeps_a_class_that_fedavg_loses(three_topics: LabelledTexts):
    """One small department holds 'fund'; nine larger ones never saw it. FedAvg erases 'fund'."""
    classes = ("fund", "noise", "wages")
    start = IntentModel(labels=classes, hasher=FeatureHasher(n_buckets=2**12)).get_arrays()
    rows = {c: [i for i, lab in enumerate(three_topics.labels) if lab == c] for c in classes}
    test = [rows[c][30:] for c in classes]
    departments = [rows["fund"][:6]] + [rows["noise"][:30] + rows["wages"][:30] for _ in range(9)]
    strategies = {"fedavg": QuorumFedAvg(min_train_nodes=10, min_available_nodes=10), "classwise": ClasswiseFedAvg(min_train_nodes=10, min_available_nodes=10)}
    recall = {}
    for name, strategy in strategies.items():
        arrays = [a.copy() for a in start]
        for _ in range(3):
            replies = []
            for idx in departments:
                params, counts, n = _train_department([three_topics.texts[i] for i in idx], [three_topics.labels[i] for i in idx], classes, arrays)
                replies.append(_reply(params, {"num-examples": n, "label-counts": counts}))
            agg, _ = strategy.aggregate_train(1, replies)
            arrays = agg.to_numpy_ndarrays()
        model = IntentModel(labels=classes, hasher=FeatureHasher(n_buckets=2**12), arrays=arrays)
        fund_preds = [p.label for p in model.predict([three_topics.texts[i] for i in test[0]])]
        recall[name] = fund_preds.count("fund") / len(fund_preds)
    assert recall["classwise"] >= 0.9
    assert recall["fedavg"] <= 0.5
    assert recall["classwise"] - recall["fedavg"] >= 0.4


def test_trim_count_trims_from_three_departments():
    assert [trim_count(n, 0.2) for n in (2, 3, 4, 5, 10, 20)] == [0, 1, 1, 1, 2, 4]
    assert trim_count(3, 0.45) == 1


def test_trimmed_mean_trims_an_outlier_with_four_departments_where_flower_does_not():
    honest = [[np.full(3, 1.0)], [np.full(3, 1.1)], [np.full(3, 0.9)]]
    attacker = [np.full(3, 100.0)]
    replies = lambda: [_reply(u, {"num-examples": 10}) for u in [*honest, attacker]]  # noqa: E731
    ours, _ = TrimmedAvg(beta=0.2, min_train_nodes=4).aggregate_train(1, replies())
    flowers, _ = FedTrimmedAvg(beta=0.2).aggregate_train(1, replies())
    assert np.allclose(next(iter(ours.to_numpy_ndarrays())), 1.05)
    assert next(iter(flowers.to_numpy_ndarrays()))[0] > 20


def test_round_below_quorum_keeps_the_previous_model():
    strategy = QuorumFedAvg(min_train_nodes=3, min_available_nodes=3)
    replies = [_reply([np.ones(2)], {"num-examples": 5}) for _ in range(2)]
    arrays, metrics = strategy.aggregate_train(4, replies)
    assert arrays is None and metrics is None
    assert strategy.skipped_rounds == [4]


def test_waiting_for_departments_is_bounded():
    with pytest.raises(QuorumNotReached, match="only 2 of the required 3"):
        wait_for_nodes(FakeGrid([1, 2]), 3, timeout_s=0.2, poll_s=0.05)
    assert wait_for_nodes(FakeGrid([1, 2, 3]), 3, timeout_s=0.0) == [1, 2, 3]


def test_round_timeout_drops_late_department_and_quorum_decides():
    start = ArrayRecord([np.zeros(2, dtype=np.float32)])
    # Quorum 3 of 3 with one department silent past the round timeout: every round is skipped.
    strict = build_strategy("fedavg", min_nodes=3, quorum_wait_s=0.1)
    grid = FakeGrid([1, 2, 3], silent={3})
    strict.min_available_nodes = 3
    result = strict.start(grid=grid, initial_arrays=start, num_rounds=2, timeout=7.5)
    assert strict.skipped_rounds == [1, 2]
    assert len(result.arrays) == 0  # no round produced a model: the server keeps its initial one
    assert grid.timeouts and all(t == 7.5 for t in grid.timeouts)
    # Quorum 2: the two punctual departments carry the round.
    lenient = build_strategy("fedavg", min_nodes=2, quorum_wait_s=0.1)
    result = lenient.start(grid=FakeGrid([1, 2, 3], silent={3}), initial_arrays=start, num_rounds=2, timeout=7.5)
    assert lenient.skipped_rounds == []
    assert np.allclose(result.arrays.to_numpy_ndarrays()[0], 2.0)


def test_every_named_strategy_builds_and_unknown_names_fail():
    for name in STRATEGY_NAMES:
        build_strategy(name, min_nodes=5, quorum_wait_s=1)
    with pytest.raises(ValueError, match="unknown strategy"):
        build_strategy("fedsomething", min_nodes=5, quorum_wait_s=1)
    assert isinstance(ConfigRecord(), ConfigRecord)


def test_boosted_update_is_clipped_to_the_median_norm():
    current = [np.zeros(4)]
    updates = [[np.full(4, 0.1)], [np.full(4, 0.12)], [np.full(4, 0.09)], [np.full(4, -50.0)]]
    clipped = clip_to_median_norm(updates, current)
    norms = sorted(float(np.linalg.norm(u[0])) for u in clipped)
    assert norms[-1] <= np.median([np.linalg.norm(u[0]) for u in updates]) + 1e-6
    assert np.allclose(clipped[0][0], 0.1)
    assert np.all(clipped[3][0] < 0)


def _honest_and_boosted(rng: np.random.Generator, scale: float) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Four honest updates around a common direction and one attacker sending an honest update × `scale`."""
    current = [np.zeros((50, 3)), np.zeros(3)]
    direction = [rng.normal(size=(50, 3)), rng.normal(size=3)]
    honest = [[d + 0.3 * rng.normal(size=d.shape) for d in direction] for _ in range(4)]
    attacker = [scale * a for a in honest[0]]
    return current, [attacker, *honest]


@pytest.mark.parametrize("scale", [-10.0, -1.0])
def test_sign_flipped_update_is_dropped_and_the_rest_averaged(scale):
    """A sign-flipped update, boosted or within the median norm, is dropped whole; trimming alone only dampens it."""
    current, updates = _honest_and_boosted(np.random.default_rng(0), scale)
    assert outlying_updates(updates, current, max_drop=1) == [0]
    clipped = clip_to_median_norm(updates, current)
    honest_mean = [np.mean([u[j] for u in clipped[1:]], axis=0) for j in range(2)]
    replies = lambda: [_reply([a.astype(np.float32) for a in u], {"num-examples": 10}) for u in updates]  # noqa: E731
    for name in ("filtered", "trimmed"):
        strategy = build_strategy(name, min_nodes=5, quorum_wait_s=0)
        strategy.current_arrays = [a.astype(np.float32) for a in current]
        agg, _ = strategy.aggregate_train(1, replies())
        error = max(float(np.abs(a - m).max()) for a, m in zip(agg.to_numpy_ndarrays(), honest_mean, strict=True))
        if name == "filtered":
            assert error < 1e-5  # the attacker dropped, its trim unit spent: the mean of the four honest updates
            assert [d["round"] for d in strategy.dropped_updates] == [1]
        else:
            assert error > 0.1


def test_outlier_filter_keeps_honest_disagreement_and_drops_at_most_max_drop():
    rng = np.random.default_rng(1)
    current, updates = _honest_and_boosted(rng, 1.0)
    assert outlying_updates(updates, current, max_drop=1) == []
    _, flipped = _honest_and_boosted(rng, -1.0)
    two_attackers = [flipped[0], [-a for a in flipped[1]], *flipped[2:]]
    assert len(outlying_updates(two_attackers, current, max_drop=1)) == 1
    assert outlying_updates(flipped[:2], current, max_drop=1) == []  # fewer than three: no majority to compare with


def test_classwise_filtered_drops_the_attacker_but_keeps_class_counts_aligned():
    current, updates = _honest_and_boosted(np.random.default_rng(2), -10.0)
    counts = [[5, 5, 5]] * 5
    replies = [_reply([a.astype(np.float32) for a in u], {"num-examples": 15, "label-counts": c}) for u, c in zip(updates, counts, strict=True)]
    strategy = build_strategy("classwise-filtered", min_nodes=5, quorum_wait_s=0)
    strategy.current_arrays = [a.astype(np.float32) for a in current]
    agg, _ = strategy.aggregate_train(3, replies)
    honest_mean = np.mean([u[0] for u in updates[1:]], axis=0)
    assert [(d["round"], len(d["nodes"])) for d in strategy.dropped_updates] == [(3, 1)]
    assert float(np.abs(agg.to_numpy_ndarrays()[0] - honest_mean).max()) < 1.0
    assert float(np.sign(agg.to_numpy_ndarrays()[0]).ravel() @ np.sign(honest_mean).ravel()) > 0.9 * honest_mean.size


def test_weakly_aligned_update_is_dropped_like_a_label_flipper():
    """A label-flipping department's update is only weakly aligned with the median (small positive cosine)."""
    rng = np.random.default_rng(3)
    current, updates = _honest_and_boosted(rng, 1.0)
    direction = np.mean([u[0] for u in updates[1:]], axis=0)
    updates[0] = [0.1 * direction + rng.normal(size=direction.shape), updates[0][1]]
    assert outlying_updates(updates, current, max_drop=1) == [0]
    assert outlying_updates(updates, current, max_drop=1, relative_cosine=0.0) == []  # only negative cosines


def test_filtered_run_reports_the_dropped_attacker_in_its_metrics(three_topics, tmp_path):
    """End to end through the ServerApp and ClientApp code: a × −10 department is dropped every round."""
    from flwr.app import Context

    from federation.simulation import run_in_process

    def boosted(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        reply = call_next(msg, context)
        if msg.metadata.message_type != MessageType.TRAIN or context.node_config.get("partition-id") != 0 or reply.has_error():
            return reply
        sent, got = msg.content["arrays"].to_numpy_ndarrays(), reply.content["arrays"].to_numpy_ndarrays()
        reply.content["arrays"] = ArrayRecord([s - 10.0 * (g - s) for s, g in zip(sent, got, strict=True)])
        return reply

    parts = [three_topics.subset(range(d, len(three_topics), 4)) for d in range(4)]
    config = {"labels": "fund,noise,wages", "request-types": "none", "n-buckets": 1024, "num-server-rounds": 2, "strategy": "filtered"}
    metrics = run_in_process(parts, out_dir=tmp_path / "run", run_config=config, client_mods=[boosted])
    assert [d["round"] for d in metrics["dropped_updates"]] == [1, 2]
    assert all(d["nodes"] == [1] for d in metrics["dropped_updates"])  # partition 0 is node 1 on the in-process grid


@pytest.mark.parametrize(
    ("column_weights", "expected_column_0"),
    [("holders", (3 * 1.0 + 1 * 5.0) / 4), ("positives", (1 * 1.0 + 3 * 5.0) / 4)],
)
def test_classwise_columns_average_over_holders_only(column_weights: str, expected_column_0: float):
    """Column 0 mixes its two holders by examples or by positives; column 1, held by one department, is that department's."""
    weights = [np.full((2, 2), 1.0, np.float32), np.full((2, 2), 5.0, np.float32), np.full((2, 2), -9.0, np.float32)]
    weights[0][:, 1] = 7.0
    updates = [[w, w[0].copy()] for w in weights]
    counts = [[1.0, 2.0], [3.0, 0.0], [0.0, 0.0]]
    combined = classwise_combine(updates, [counts], [3.0, 1.0, 4.0], head_layers={0: 0, 1: 0}, column_weights=column_weights)
    assert combined[0][:, 0] == pytest.approx([expected_column_0] * 2)
    assert combined[0][:, 1] == pytest.approx([7.0, 7.0])
    assert combined[1] == pytest.approx([expected_column_0, 7.0])


def test_classwise_refuses_unknown_column_weights():
    with pytest.raises(ValueError, match="column weights"):
        ClasswiseFedAvg(column_weights="votes", min_train_nodes=1, min_available_nodes=1)
