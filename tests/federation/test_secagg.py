"""SecAgg+ option: the securely aggregated model is FedAvg of the departments' models; robust strategies are refused."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from flwr.app import Context, Message, MessageType
from flwr.compat.common.recorddict_compat import recorddict_to_fitres
from flwr.common import parameters_to_ndarrays

from federation.data import LabelledTexts
from federation.model import IntentModel
from federation.secagg import SecAggConfigError, SecAggSettings, check_secagg_config, run_counted_in_process
from federation.strategies import STRATEGY_NAMES
from federation.task import FeatureCounts, TaskConfig

CLASSES = ("fund", "noise", "wages")


def _departments(three_topics: LabelledTexts, n: int) -> list[LabelledTexts]:
    return [three_topics.subset([i for i in range(len(three_topics)) if i % n == d]) for d in range(n)]


def test_secure_aggregate_equals_fedavg_of_what_departments_sent(three_topics, tmp_path):
    """One round, four departments: the unmasked sum equals the example-weighted mean of the plain replies,
    and the statistics round before it gives the IDF weights of the summed document frequencies."""
    sent: list[tuple[list[np.ndarray], int, dict]] = []

    def capture(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        reply = call_next(msg, context)
        if msg.metadata.message_type == MessageType.TRAIN and not reply.has_error():
            fitres = recorddict_to_fitres(reply.content, keep_input=True)
            sent.append((parameters_to_ndarrays(fitres.parameters), fitres.num_examples, fitres.metrics))
        return reply

    config = {"labels": ",".join(CLASSES), "request-types": "none", "n-buckets": 4096, "num-server-rounds": 1, "seed": 5}
    metrics = run_counted_in_process(_departments(three_topics, 4), out_dir=tmp_path / "secagg", run_config=config, client_mods=[capture])
    assert metrics["failures"] == [] and metrics["completed_rounds"] == 1
    statistics, models = sent[:4], sent[4:]
    assert len(models) == 4 and all(len(arrays) == 2 for arrays, _, _ in models)
    saved = IntentModel.load(tmp_path / "secagg")
    assert all(len(arrays) == 3 for arrays, _, _ in statistics)  # document frequencies, per label, rows per label
    total = functools.reduce(FeatureCounts.plus, [FeatureCounts(*(a * weight for a in arrays), m["num-documents"]) for arrays, weight, m in statistics])
    assert total.doc_freq.max() > 1 and metrics["idf"] is True and metrics["idf_documents"] == total.num_docs and metrics["label_concentration"] == 1.0
    # Each department's (counts / weight) × (weight / 10 000) is stochastically rounded to 16 / 2^22,
    # so its counts are off by less than 0.04; an IDF weight log((1 + N) / (1 + df)) + 1 moves by less
    # than 4 × 0.04 / (1 + df) ≤ 0.08 where some department has the bucket, and not at all elsewhere.
    # Times 1 + concentration (≤ 2), whose own shift adds less again: at most 0.045 in repeated runs.
    expected = total.weights(1.0)
    assert np.allclose(saved.idf, expected, atol=0.16)
    assert (saved.idf[total.doc_freq == 0] == expected[total.doc_freq == 0]).all()
    total = sum(n for _, n, _ in models)
    expected = [sum(n * arrays[j] for arrays, n, _ in models) / total for j in range(2)]
    spread = max(float(np.abs(arrays[0] - expected[0]).max()) for arrays, _, _ in models)
    assert spread > 0.05  # the departments really differ, so the check below is not trivially met
    # Each department's parameters × (examples / 10 000) are stochastically rounded to 16 / 2^22:
    # after dividing by the summed weights (~0.01 here) the error stays below ~1.5e-3.
    for g, e in zip(saved.get_arrays(), expected, strict=True):
        assert np.allclose(g, e, atol=2e-3)
    assert metrics["wire_bytes_up_per_department_per_round"] > 0


@pytest.mark.parametrize("name", [s for s in STRATEGY_NAMES if s != "fedavg"])
def test_strategies_that_need_each_update_are_refused(name):
    with pytest.raises(SecAggConfigError, match=f"strategy '{name}' needs each department's update"):
        check_secagg_config(TaskConfig.from_run_config({"strategy": name}))
    check_secagg_config(TaskConfig.from_run_config({"strategy": "fedavg"}))


def test_client_level_dp_is_refused():
    with pytest.raises(SecAggConfigError, match="client-level DP"):
        check_secagg_config(TaskConfig.from_run_config({"strategy": "fedavg", "client-dp-noise-multiplier": 0.5}))


def test_a_department_over_max_weight_counts_as_max_weight(three_topics, tmp_path):
    """Weights above `max_weight` would overflow the quantised range; they are capped, not clipped into garbage."""
    sent: list[int] = []

    def capture(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        reply = call_next(msg, context)
        if msg.metadata.message_type == MessageType.TRAIN and not reply.has_error():
            sent.append(recorddict_to_fitres(reply.content, keep_input=True).num_examples)
        return reply

    config = {"labels": ",".join(CLASSES), "request-types": "none", "n-buckets": 1024, "num-server-rounds": 1}
    run_counted_in_process(_departments(three_topics, 3), out_dir=tmp_path / "cap", run_config=config, settings=SecAggSettings(max_weight=20.0), client_mods=[capture])
    assert sorted(sent) == [20] * 6  # the statistics round and the training round



def test_cli_refuses_secagg_with_a_strategy_that_needs_each_update(tmp_path):
    from typer.testing import CliRunner

    from federation.cli import app

    data = tmp_path / "rows.csv"
    data.write_text("text,label\n公积金提取,fund\n噪音扰民,noise\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", "--data", str(data), "--out", str(tmp_path / "out"), "--secagg", "--strategy", "filtered"])
    assert result.exit_code == 2
    assert "--secagg" in result.output and "'filtered' needs each department's update" in result.output


def test_secagg_runs_route_with_the_departments_label_counts_as_plain_runs_do(three_topics, tmp_path):
    """Label counts travel in the clear beside the masked model; evaluations from round 2 score with them."""
    told: list[dict] = []

    def capture(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        if msg.metadata.message_type == MessageType.EVALUATE:
            config = dict(next(iter(msg.content.config_records.values())))
            told.append({k: config[k] for k in ("temperature", "label-counts") if k in config})
        return call_next(msg, context)

    parts = _departments(three_topics, 3)
    config = {"labels": ",".join(CLASSES), "request-types": "none", "n-buckets": 4096, "num-server-rounds": 2}
    metrics = run_counted_in_process(parts, out_dir=tmp_path / "secagg", run_config=config, client_mods=[capture])
    assert metrics["failures"] == [] and metrics["completed_rounds"] == 2
    model = IntentModel.load(tmp_path / "secagg")
    run_counted_in_process(parts, out_dir=tmp_path / "plain", run_config=config, secure=False)
    assert model.label_counts == IntentModel.load(tmp_path / "plain").label_counts and len(model.label_counts) == len(CLASSES)
    assert model.prior_correction == 1.0 and model.temperature != 1.0
    assert told[:3] == [{}] * 3  # round 1: uncalibrated, scored without the correction
    counts = np.asarray(model.label_counts, dtype=np.int64).tobytes()
    assert told[3:] == [{"temperature": model.temperature, "label-counts": counts}] * 3


def test_a_secagg_refit_on_every_row_keeps_the_temperature_it_was_given(three_topics, tmp_path):
    """`holdout-fraction` 0: no department evaluates anything, and the run still ends with the given temperature."""
    config = {"labels": ",".join(CLASSES), "request-types": "none", "n-buckets": 4096, "num-server-rounds": 2, "holdout-fraction": 0.0, "temperature": 0.37}
    metrics = run_counted_in_process(_departments(three_topics, 3), out_dir=tmp_path / "secagg", run_config=config)
    assert metrics["failures"] == [] and metrics["completed_rounds"] == 2 and metrics["final_departments"] == {}
    model = IntentModel.load(tmp_path / "secagg")
    assert model.temperature == 0.37 and model.label_counts == (40, 40, 40)
