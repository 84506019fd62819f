"""CoCoA+ (`strategy = "cocoa"`): the dual solver, the federated sum and the department's commit protocol."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
import scipy.sparse as sp
from flwr.app import Context, RecordDict

from federation.client_app import _committed_duals
from federation.data import LabelledTexts
from federation.dual import BIAS_FEATURE, SLOPE, dual_ascent, empty_duals
from federation.model import FeatureHasher, IntentModel
from federation.simulation import run_in_process
from federation.strategies import DualAscent
from federation.task import SPREAD_CONFIG_KEY, TaskConfig, TaskConfigError, check_dual_config, feature_sigma, spread_bytes

C = 10.0
LABELS = ("fund", "noise", "wages")


def _model() -> IntentModel:
    return IntentModel(labels=LABELS, hasher=FeatureHasher(n_buckets=4096), loss="modified-huber")


def _data(three_topics: LabelledTexts, model: IntentModel):
    return model.features(three_topics.texts), model.encode_labels(three_topics.labels, LABELS)


def _primal_and_dual(model: IntentModel, x, y, alpha: np.ndarray) -> tuple[float, float]:
    """½‖(W, b/β)‖² + C Σ ℓ and its dual Σ (α − α²/4C) − ½‖(W, b/β)‖², for a model whose parameters come from α
    (the bias is the weight of a constant feature β)."""
    w, b = model.arrays[0].astype(np.float64), model.arrays[1].astype(np.float64)
    signs = -np.ones((len(y), len(LABELS)))
    signs[np.arange(len(y)), y] = 1.0
    margins = signs * (np.asarray(x @ w) + b)
    slack = np.maximum(0.0, 1.0 - margins)
    loss = np.where(margins < -1.0, -SLOPE * margins, slack * slack).sum()
    half_norm = 0.5 * ((w * w).sum() + (b * b).sum() / BIAS_FEATURE**2)
    return half_norm + C * loss, (alpha - alpha * alpha / (4 * C)).sum() - half_norm


def test_dual_ascent_closes_the_duality_gap_and_keeps_w_equal_to_the_duals(three_topics):
    model = _model()
    x, y = _data(three_topics, model)
    duals, report = dual_ascent(model, x, [y], empty_duals(model, len(y)), c=C, epochs=60)
    primal, dual = _primal_and_dual(model, x, y, duals[0])
    assert 0 <= primal - dual < 1e-3 * primal
    assert ((duals[0] >= 0) & (duals[0] <= SLOPE * C)).all()
    signs = -np.ones_like(duals[0])
    signs[np.arange(len(y)), y] = 1.0
    np.testing.assert_allclose(model.arrays[0], np.asarray(x.T @ (duals[0] * signs)), atol=1e-4)
    np.testing.assert_allclose(model.arrays[1], BIAS_FEATURE**2 * (duals[0] * signs).sum(0), atol=1e-4)
    assert report.num_examples == len(y) and report.mean_loss >= 0


def test_a_catalyst_stage_scales_the_change_and_keeps_the_anchor_when_flower_skips_a_round(three_topics):
    model = _model()
    x, y = _data(three_topics, model)
    duals, _ = dual_ascent(model, x, [y], empty_duals(model, len(y)), c=C, scale=1 / 11, epochs=5)
    signs = -np.ones_like(duals[0])
    signs[np.arange(len(y)), y] = 1.0
    np.testing.assert_allclose(model.arrays[0], np.asarray(x.T @ (duals[0] * signs)) / 11, atol=1e-5)

    strategy = DualAscent(kappa=10.0, stage_rounds=2, min_available_nodes=1, min_train_nodes=1)
    w0 = [np.zeros(3), np.zeros(2)]
    assert [a.tolist() for a in strategy._stage_model(1, w0)] == [[0, 0, 0], [0, 0]]
    w1 = [np.ones(3), np.full(2, 2.0)]
    assert np.array_equal(strategy._stage_model(2, w1)[0], w1[0])  # inside a stage: as Flower holds it
    moved = strategy._stage_model(3, w1)  # a stage ends: the anchor moves, the departments' part stays
    assert not np.allclose(moved[0], w1[0])
    np.testing.assert_allclose(moved[0] - strategy.anchor[0], w1[0])
    again = strategy._stage_model(4, w1)  # round 3 was skipped: Flower still holds the old-anchor model
    np.testing.assert_allclose(again[0], moved[0])
    strategy.model_anchor = strategy.anchor  # round 4 aggregated: Flower's model is on the new anchor
    np.testing.assert_allclose(strategy._stage_model(4, moved)[0], moved[0])


def _federated(model: IntentModel, x, y, parts: list[np.ndarray], rounds: int, *, per_feature: bool = False) -> list[float]:
    """Rounds of CoCoA+ by hand: each department ascends from the same model with σ = #departments, or with
    `per_feature` σ_j = the number of departments holding feature j; changes are added."""
    duals = [empty_duals(model, len(p)) for p in parts]
    holders = sum((np.bincount(x[p].indices, minlength=x.shape[1]) > 0).astype(float) for p in parts)
    feature_sigma = np.maximum(holders, 1.0) if per_feature else None
    dual_values = []
    for _ in range(rounds):
        start = [a.copy() for a in model.arrays]
        changes = []
        for k, p in enumerate(parts):
            local = _model()
            local.set_arrays(start)
            duals[k], _ = dual_ascent(local, x[p], [y[p]], duals[k], c=C, sigma=len(parts), feature_sigma=feature_sigma, epochs=3, seed=k)
            changes.append([a - s for a, s in zip(local.arrays, start, strict=True)])
        model.set_arrays([s + sum(ch[j] for ch in changes) for j, s in enumerate(start)])
        alpha = np.zeros((len(y), len(LABELS)))
        for k, p in enumerate(parts):
            alpha[p] = duals[k][0]
        dual_values.append(_primal_and_dual(model, x, y, alpha)[1])
    return dual_values


def _by_topic(y: np.ndarray) -> list[np.ndarray]:
    """Department i holds topic i only, except every fifth message of it went elsewhere."""
    owner = y.copy()
    owner[::5] = (owner[::5] + 1) % 3
    return [np.nonzero(owner == k)[0] for k in range(3)]


@pytest.mark.parametrize("per_feature", [False, True])
def test_cocoa_ascends_monotonically_to_the_centralized_model_on_label_skewed_departments(three_topics, per_feature):
    central = _model()
    x, y = _data(three_topics, central)
    dual_ascent(central, x, [y], empty_duals(central, len(y)), c=C, epochs=60)
    federated = _model()
    values = _federated(federated, x, y, _by_topic(y), rounds=25, per_feature=per_feature)
    assert all(b >= a - 1e-6 for a, b in zip(values, values[1:]))
    assert (federated.logits(x)[0].argmax(1) == central.logits(x)[0].argmax(1)).mean() == 1.0
    np.testing.assert_allclose(federated.arrays[1], central.arrays[1], atol=0.05)


def test_a_per_feature_sigma_ascends_faster_than_one_sigma_for_all(three_topics):
    model = _model()
    x, y = _data(three_topics, model)
    plain = _federated(_model(), x, y, _by_topic(y), rounds=3)
    per_feature = _federated(_model(), x, y, _by_topic(y), rounds=3, per_feature=True)
    assert all(f > p for f, p in zip(per_feature, plain))
    with pytest.raises(ValueError, match="feature_sigma"):
        dual_ascent(model, x, [y], empty_duals(model, len(y)), c=C, sigma=3, feature_sigma=np.full(x.shape[1], 4.0))


def test_a_department_without_a_class_cannot_erase_it(three_topics):
    model = _model()
    x, y = _data(three_topics, model)
    fund = np.nonzero(y == LABELS.index("fund"))[0]
    others = np.nonzero(y != LABELS.index("fund"))[0]
    # One small department holds every "fund" message; two big ones never saw the class.
    parts = [np.concatenate([fund, others[:10]]), others[10::2], others[11::2]]
    _federated(model, x, y, parts, rounds=10)
    predicted = model.logits(x[fund])[0].argmax(1)
    assert (predicted == LABELS.index("fund")).mean() == 1.0


def test_the_per_feature_sigma_counts_the_departments_the_statistics_missed():
    x = sp.csr_matrix(np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
    raw = spread_bytes(np.array([1, 3, 0, 300]))
    np.testing.assert_array_equal(feature_sigma(raw, sigma=5, unknown=0, x_train=x), [1, 3, 1, 5])
    np.testing.assert_array_equal(feature_sigma(raw, sigma=5, unknown=2, x_train=x), [3, 5, 2, 5])
    assert feature_sigma(None, sigma=5, unknown=0, x_train=x) is None
    # This department holds bucket 2, for which no department was counted: its data changed since.
    assert feature_sigma(raw, sigma=5, unknown=0, x_train=sp.csr_matrix(np.array([[0, 0, 1.0, 0]]))) is None
    with pytest.raises(ValueError, match="spread"):
        feature_sigma(raw[:2], sigma=5, unknown=0, x_train=x)


def test_the_app_trains_with_cocoa_by_default(tmp_path, three_topics):
    parts = [three_topics.subset(range(i, len(three_topics), 3)) for i in range(3)]
    sent = []

    def spy(msg, context, call_next):
        if msg.metadata.message_type == "train":
            config = msg.content["config"]
            sent.append((len(bytes(config[SPREAD_CONFIG_KEY])), config["dual-sigma"], config["dual-sigma-unknown"]))
        return call_next(msg, context)

    config = {"labels": ",".join(LABELS), "request-types": "none", "n-buckets": 4096, "num-server-rounds": 3}
    metrics = run_in_process(parts, out_dir=tmp_path, run_config=config, client_mods=[spy])
    assert sent == [(4096, 3, 0)] * 9  # every department counted in the per-feature σ
    assert metrics["strategy"] == "cocoa" and metrics["failures"] == [] and metrics["skipped_rounds"] == []
    assert metrics["dual_restarts"] == []
    ledger = json.loads((tmp_path / "state" / "department-0" / "privacy_ledger.json").read_text(encoding="utf-8"))
    assert ledger["non_private_rounds"] == 3  # trained without DP: the department's ε is ∞
    assert metrics["final_departments"]["macro-f1"] > 0.9
    assert [p.label for p in IntentModel.load(tmp_path).predict(["公积金贷款怎么办", "工地噪音"])] == ["fund", "noise"]


def test_the_request_type_head_trains_beside_the_intents(synthetic_requests):
    from federation.taxonomy import REQUEST_TYPES, intent_labels

    model = IntentModel(labels=intent_labels(), request_types=REQUEST_TYPES, hasher=FeatureHasher(n_buckets=4096), loss="modified-huber")
    x = model.features(synthetic_requests.texts)
    y = model.encode_labels(synthetic_requests.labels, model.labels)
    rt = model.encode_labels([r if r in REQUEST_TYPES else None for r in synthetic_requests.request_types], REQUEST_TYPES)
    duals, _ = dual_ascent(model, x, [y, rt], empty_duals(model, len(y)), c=C, epochs=20)
    assert [d.shape for d in duals] == [(len(y), len(model.labels)), (len(y), len(REQUEST_TYPES))]
    assert not duals[1][rt < 0].any()
    labelled = rt >= 0
    assert (np.asarray(x[labelled] @ model.arrays[2] + model.arrays[3]).argmax(1) == rt[labelled]).mean() > 0.9


def test_a_department_the_statistics_exchange_missed_counts_for_every_feature(tmp_path, three_topics):
    parts = [three_topics.subset(range(i, len(three_topics), 4)) for i in range(4)]
    unknown: dict[int, list[int]] = {}

    def late(msg, context, call_next):  # node 4 misses the statistics query, then trains every round
        if msg.metadata.message_type == "query" and context.node_id == 4:
            raise RuntimeError("not connected yet")
        if msg.metadata.message_type == "train":
            unknown.setdefault(context.node_id, []).append(msg.content["config"]["dual-sigma-unknown"])
        return call_next(msg, context)

    config = {"labels": ",".join(LABELS), "request-types": "none", "n-buckets": 4096, "num-server-rounds": 2, "min-nodes": 3}
    metrics = run_in_process(parts, out_dir=tmp_path, run_config=config, client_mods=[late])
    assert metrics["idf_departments"] == 3 and unknown == {node: [1, 1] for node in (1, 2, 3, 4)}
    assert metrics["final_departments"]["macro-f1"] > 0.9


@pytest.mark.parametrize("disk_too", [False, True])
def test_a_restarted_department_resumes_from_its_disk_or_is_reported(tmp_path, three_topics, disk_too):
    parts = [three_topics.subset(range(i, len(three_topics), 3)) for i in range(3)]
    trains = []

    def restart(msg, context, call_next):  # node 1's SuperNode restarts before its second training round
        if msg.metadata.message_type == "train" and context.node_id == 1:
            trains.append(msg)
            if len(trains) == 2:
                for key in ("dual-pending", "dual-committed", "dual"):
                    context.state.pop(key, None)
                if disk_too:  # and its disk was wiped (the other departments still hold theirs in memory)
                    for saved in (tmp_path / "state").glob("*/dual-run-*.npz"):
                        saved.unlink()
        return call_next(msg, context)

    config = {"labels": ",".join(LABELS), "request-types": "none", "n-buckets": 4096}
    metrics = run_in_process(parts, out_dir=tmp_path, run_config=config, client_mods=[restart], run_id=1)
    assert metrics["dual_restarts"] == ([{"round": 2, "node": 1}] if disk_too else [])
    assert sorted(p.parent.name for p in (tmp_path / "state").glob("*/dual-run-1.npz")) == ["department-0", "department-1", "department-2"]
    if not disk_too:  # resumed from disk: the same model as a run without the restart
        plain = run_in_process(parts, out_dir=tmp_path / "plain", run_config=config)
        assert np.array_equal(IntentModel.load(tmp_path).arrays[0], IntentModel.load(tmp_path / "plain").arrays[0])
        assert plain["dual_restarts"] == []


def test_a_department_deletes_the_dual_files_of_ended_runs(tmp_path, three_topics):
    parts = [three_topics.subset(range(i, len(three_topics), 3)) for i in range(3)]
    state = tmp_path / "state" / "department-0"
    state.mkdir(parents=True)
    ended, concurrent = state / "dual-run-7.npz", state / "dual-run-8.npz"
    for path in (ended, concurrent):
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(ended, (two_days_ago, two_days_ago))
    config = {"labels": ",".join(LABELS), "request-types": "none", "n-buckets": 4096, "num-server-rounds": 1}
    run_in_process(parts, out_dir=tmp_path / "model", run_config=config, state_dir=tmp_path / "state", run_id=1)
    assert sorted(p.name for p in state.glob("dual-run-*")) == ["dual-run-1.npz", "dual-run-8.npz"]


def test_a_department_commits_only_proposals_the_server_added():
    model = _model()
    context = Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={})
    duals, resumed = _committed_duals(context, set(), model, rows=4)
    assert [d.shape for d in duals] == [(4, 3)] and not resumed
    from flwr.app import ArrayRecord, ConfigRecord

    proposal = [np.full((4, 3), 0.5)]
    context.state["dual-pending"] = ArrayRecord(proposal)
    context.state["dual"] = ConfigRecord({"proposal": 77})
    duals, resumed = _committed_duals(context, {12}, model, rows=4)
    assert not duals[0].any() and resumed  # not added: discarded, the committed zeros stay
    assert (_committed_duals(context, {12, 77}, model, rows=4)[0][0] == 0.5).all()  # added: committed
    context.state["dual-pending"] = ArrayRecord([np.full((4, 3), 0.9)])
    context.state["dual"] = ConfigRecord({"proposal": 78})
    assert (_committed_duals(context, {12, 77}, model, rows=4)[0][0] == 0.5).all()  # the last committed ones stay
    duals, resumed = _committed_duals(context, {77, 78}, model, rows=5)
    assert not duals[0].any() and not resumed  # the rows changed: start over


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"dp-noise-multiplier": 1.0}, "record-level DP"),
        ({"client-dp-noise-multiplier": 0.5}, "client-level DP"),
        ({"server-momentum": 0.5}, "server momentum"),
        ({"loss": "softmax"}, "loss 'softmax'"),
        ({"catalyst-kappa": -1.0}, "catalyst-kappa < 0"),
        ({"catalyst-rounds": 0}, "catalyst-rounds < 1"),
    ],
)
def test_cocoa_refuses_what_breaks_it_with_a_clear_error(extra, named):
    with pytest.raises(TaskConfigError, match=named):
        check_dual_config(TaskConfig.from_run_config({"strategy": "cocoa", **extra}))
    check_dual_config(TaskConfig.from_run_config({"strategy": "classwise", **extra}))
