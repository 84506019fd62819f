"""The pure intent model: features, training, calibration, persistence, size and latency."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import scipy.sparse as sp

from federation.model import (
    DpSgdConfig,
    FeatureHasher,
    IntentModel,
    ModelFileError,
    document_frequencies,
    idf_weights,
    label_concentration,
    label_document_frequencies,
    macro_f1,
    normalise_text,
    weight_features,
)


def _trained(data, **fit) -> tuple[IntentModel, object, np.ndarray]:
    labels = tuple(sorted(set(data.labels)))
    model = IntentModel(labels=labels, hasher=FeatureHasher(n_buckets=2**14))
    x = model.hasher.transform(data.texts)
    y = model.encode_labels(data.labels, labels)
    model.fit(x, y, **{"epochs": 10, "learning_rate": 10.0, "optimizer": "sgd", **fit})
    return model, x, y


def test_features_are_stable_unit_rows_and_need_no_vocabulary():
    hasher = FeatureHasher(n_buckets=2**12)
    a = hasher.transform(["公积金提取", "公积金提取", ""])
    b = FeatureHasher(n_buckets=2**12).transform(["公积金提取"])
    assert (a[0] != b[0]).nnz == 0
    assert np.isclose(np.linalg.norm(a[0].toarray()), 1.0)
    assert a[2].nnz == 0
    assert normalise_text("ＡＢＣ  12345\t热线") == "abc 12345 热线"


def test_training_separates_topics_and_scores_are_probabilities(three_topics):
    model, x, y = _trained(three_topics)
    logits, _ = model.logits(x)
    assert macro_f1(y, logits.argmax(1), 3) > 0.95
    preds = model.predict(["老板拖欠工资两个月了", "公积金怎么提取"])
    assert [p.label for p in preds] == ["wages", "fund"]
    assert all(0.0 < p.score <= 1.0 for p in preds)
    assert np.allclose(model.predict_proba(["噪音"]).sum(), 1.0)


def test_calibration_picks_the_least_nll_temperature(three_topics):
    model, x, y = _trained(three_topics)
    nll = model.nll_by_temperature(x, y)
    model.calibrate(x, y)
    assert model.temperature == model.temperature_grid()[int(np.argmin(nll))]


def test_save_load_roundtrip(tmp_path, three_topics):
    model, _, _ = _trained(three_topics)
    model.departments = {"fund": "住房公积金管理中心"}
    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    texts = ["公积金贷款", "夜间施工"]
    assert loaded.predict(texts) == model.predict(texts)
    assert loaded.predict(["公积金贷款"])[0].department == "住房公积金管理中心"


def test_load_errors_are_specific(tmp_path):
    with pytest.raises(ModelFileError, match="has no model.json"):
        IntentModel.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "model.npz").write_bytes(b"")
    with pytest.raises(ModelFileError, match="unreadable model"):
        IntentModel.load(tmp_path)


def test_wrong_parameter_shapes_are_rejected():
    model = IntentModel(labels=("a", "b"), hasher=FeatureHasher(n_buckets=64))
    with pytest.raises(ValueError, match="do not match"):
        model.set_arrays([np.zeros((64, 3)), np.zeros(3)])


def test_default_model_fits_size_and_latency_budget(synthetic_requests):
    labels = tuple(sorted(set(synthetic_requests.labels)))
    model = IntentModel(labels=labels, request_types=("咨询", "求助", "投诉", "举报", "建议"))
    assert model.size_bytes <= 20 * 1024 * 1024
    texts = synthetic_requests.texts[:200]
    model.predict(texts[:5])
    start = time.perf_counter()
    model.predict(texts)
    per_message_ms = (time.perf_counter() - start) * 1000 / len(texts)
    # 1 ms is the product bound on an idle 2-core box; allow slack for a shared test machine.
    assert per_message_ms < 3.0


def test_dp_sgd_clips_and_adds_noise(three_topics):
    plain, x, y = _trained(three_topics, epochs=2)
    labels = plain.labels
    noisy = IntentModel(labels=labels, hasher=plain.hasher)
    report = noisy.fit(x, y, epochs=2, learning_rate=1.0, optimizer="sgd", dp=DpSgdConfig(clip_norm=0.5, noise_multiplier=1.0, sampling_rate=0.25))
    assert report.dp_steps == 2 * 4
    assert report.dp_clip_norm == 0.5
    # Noise touches every coordinate, including buckets no message uses.
    unused = np.asarray(x.sum(axis=0)).ravel() == 0
    assert np.abs(noisy.arrays[0][unused]).max() > 0
    assert np.abs(plain.arrays[0][unused]).max() == 0


def test_unknown_labels_are_reported():
    model = IntentModel(labels=("a", "b"), hasher=FeatureHasher(n_buckets=64))
    with pytest.raises(ValueError, match="unknown label 'c'"):
        model.encode_labels(["a", "c"], model.labels)
    assert model.encode_labels(["b", None, ""], model.labels).tolist() == [1, -1, -1]


def test_out_of_scope_needs_its_threshold_or_a_weak_best_label():
    model = IntentModel(labels=("a", "b", "out_of_scope"), hasher=FeatureHasher(n_buckets=64), min_score=0.3)
    w = np.zeros((64, 3), np.float32)
    model.set_arrays([w, np.log(np.asarray([0.35, 0.25, 0.40], np.float32))])
    [p] = model.predict(["任意"])
    assert (p.label, p.out_of_scope) == ("a", False) and abs(p.score - 0.35) < 1e-5
    model.set_arrays([w, np.log(np.asarray([0.25, 0.15, 0.60], np.float32))])
    [p] = model.predict(["任意"])
    assert (p.label, p.out_of_scope) == ("out_of_scope", True) and abs(p.score - 0.6) < 1e-5
    model.set_arrays([w, np.log(np.asarray([0.28, 0.27, 0.45], np.float32))])
    [p] = model.predict(["任意"])
    assert (p.label, p.out_of_scope) == ("a", True)
    # Evaluations score the same routes: out_of_scope is the most probable label here, but below its threshold.
    assert model.routes(model.logits(model.features(["任意"]))[0]).tolist() == [0]
    model.oos_threshold = 0.4
    assert model.routes(model.logits(model.features(["任意"]))[0]).tolist() == [2] and model.predict(["任意"])[0].label == "out_of_scope"


def test_prior_correction_removes_the_label_shares_but_leaves_out_of_scope_and_unseen_labels(tmp_path):
    labels = ("busy", "quiet", "unseen", "out_of_scope")
    model = IntentModel(labels=labels, hasher=FeatureHasher(n_buckets=64), temperature=0.5)
    model.set_arrays([np.zeros((64, 4), np.float32), np.asarray([0.4, 0.1, 0.0, 0.2], np.float32)])
    before = model.predict_proba(["任意"])[0]
    assert [p.label for p in model.predict(["任意"])] == ["busy"] and np.isclose(before.sum(), 1.0)
    model.label_counts, model.prior_correction = (400, 100, 0, 50), 1.0
    after = model.predict_proba(["任意"])[0]
    # "quiet" has a quarter of "busy"'s rows: its odds against "busy" grow 4-fold; P(out_of_scope) and
    # the unseen label's odds against "busy" stay as calibrated.
    assert np.isclose(after.sum(), 1.0) and np.isclose(after[3], before[3])
    assert np.isclose(after[1] / after[0], 4 * before[1] / before[0]) and np.isclose(after[2] / after[0], before[2] / before[0])
    [p] = model.predict(["任意"])
    assert p.label == "quiet" and np.isclose(p.score, after[1])
    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    assert (loaded.label_counts, loaded.prior_correction) == ((400, 100, 0, 50), 1.0)
    assert loaded.predict(["任意"]) == [p]
    model.label_counts = (1, 2)  # counts for another label set are not applied
    assert np.allclose(model.predict_proba(["任意"])[0], before)
    with pytest.raises(ValueError, match="prior correction"):
        IntentModel(labels=labels, prior_correction=-1.0)


def test_idf_weights_downweight_common_buckets_and_survive_save_load(tmp_path, three_topics):
    hasher = FeatureHasher(n_buckets=2**14)
    x = hasher.transform(three_topics.texts)
    df = document_frequencies(x)
    idf = idf_weights(df, x.shape[0])
    assert idf[df.argmax()] < idf[df == 0].min()
    assert abs(weight_features(x, idf) - hasher.transform(three_topics.texts, idf)).max() < 1e-6
    model, _, _ = _trained(three_topics)
    model.idf = idf
    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    assert loaded.loss == "modified-huber" and np.array_equal(loaded.idf, idf)
    assert loaded.predict(["公积金贷款"]) == model.predict(["公积金贷款"])
    with pytest.raises(ValueError, match="buckets"):
        IntentModel(labels=("a", "b"), hasher=FeatureHasher(n_buckets=64), idf=np.ones(32))


def test_label_document_frequencies_count_rows_per_label_and_skip_unlabelled_rows():
    x = sp.csr_matrix(np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.0, 0.9], [1.0, 0.0, 0.0]], np.float32))
    counts = label_document_frequencies(x, np.array([0, 1, 1, -1]), 2)
    assert counts.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 1.0]]


def test_label_concentration_is_high_for_one_label_buckets_and_zero_for_spread_or_unseen_ones():
    label_df = np.array([[10, 0, 0], [5, 5, 5], [0, 0, 0], [1, 0, 0]], np.float64)
    rows = np.array([20, 20, 20])
    c = label_concentration(label_df, rows)
    assert c[0] > 0.7 and abs(c[1]) < 1e-9 and abs(c[2]) < 1e-9
    assert 0.1 < c[3] < 0.3  # one row is weak evidence (smoothing), ten rows strong
    # Each label's rows count equally: a bucket used in proportion to the labels' sizes is not concentrated.
    assert abs(label_concentration(np.array([[40.0, 10.0, 10.0]]), np.array([80, 20, 20]))[0]) < 1e-9
    # Labels without rows are left out; with fewer than two labels nothing is concentrated.
    assert np.allclose(label_concentration(np.c_[label_df, np.zeros(4)], np.r_[rows, 0]), c)
    assert label_concentration(label_df[:, :2], np.array([20, 0])).tolist() == [0.0] * 4
    idf = idf_weights(label_df.sum(axis=1), 60)
    assert np.allclose(idf_weights(label_df.sum(axis=1), 60, c, 1.0), idf * (1 + c)) and np.array_equal(idf_weights(label_df.sum(axis=1), 60, c, 0.0), idf)


def test_format_1_files_load_as_softmax_without_idf_and_unknown_versions_are_refused(tmp_path, three_topics):
    model, _, _ = _trained(three_topics, epochs=2)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    del meta["loss"]
    meta["format_version"] = 1
    (tmp_path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    old = IntentModel.load(tmp_path)
    assert old.loss == "softmax" and old.idf is None
    meta["format_version"] = 7
    (tmp_path / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelFileError, match="unsupported format_version 7"):
        IntentModel.load(tmp_path)


@pytest.mark.parametrize("loss", ["modified-huber", "softmax"])
def test_both_losses_learn_and_a_huge_learning_rate_stays_finite(loss, three_topics):
    model, x, y = _trained(three_topics, epochs=5, learning_rate=50.0)
    model.loss = loss
    model.set_arrays(model.initial_arrays())
    model.fit(x, y, epochs=5, learning_rate=50.0 if loss == "modified-huber" else 10.0, optimizer="sgd")
    logits, _ = model.logits(x)
    assert np.isfinite(logits).all()
    assert macro_f1(y, logits.argmax(1), 3) > 0.95
    with pytest.raises(ValueError, match="unknown loss"):
        IntentModel(labels=("a", "b"), loss="hinge")
