"""The ServerApp/ClientApp code end to end through the in-process grid (fast, no Ray)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from federation.data import DataFileError, LabelledTexts, parse_partition, read_labelled_csv, stratified_split, write_labelled_csv
from federation.model import IntentModel
from federation.server_app import RouteCalibration
from federation.simulation import run_in_process, train_held_out_and_refit
from federation.task import TaskConfig, TaskConfigError, evaluate_centrally

CONFIG = {"labels": "fund,noise,wages", "request-types": "none", "n-buckets": 4096, "num-server-rounds": 3}


def _parts(data: LabelledTexts, n: int) -> list[LabelledTexts]:
    return [data.subset(range(i, len(data), n)) for i in range(n)]


def test_three_departments_train_a_calibrated_model(tmp_path, three_topics):
    metrics = run_in_process(_parts(three_topics, 3), out_dir=tmp_path, run_config={**CONFIG, "eval-data-path": ""})
    assert metrics["failures"] == [] and metrics["skipped_rounds"] == []
    assert metrics["final_departments"]["macro-f1"] > 0.9
    model = IntentModel.load(tmp_path)
    assert model.temperature != 1.0 or metrics["temperature"] == 1.0
    assert [p.label for p in model.predict(["公积金贷款怎么办", "工地噪音"])] == ["fund", "noise"]
    rounds = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["server_round"] for r in rounds] == [1, 2, 3]
    one = run_in_process(_parts(three_topics, 3), out_dir=tmp_path / "one", run_config={**CONFIG, "num-server-rounds": 1})
    assert one["temperature"] != 1.0 and IntentModel.load(tmp_path / "one").temperature == one["temperature"]


def test_the_saved_model_routes_as_the_last_round_was_measured(tmp_path, three_topics):
    # Uneven topics (40 fund, 20 noise, 10 wages): the model stores the summed training counts and the
    # temperature the last evaluation scored with, so the server's last measurement is the saved model's.
    keep = [i for i, label in enumerate(three_topics.labels) if label == "fund" or (label == "noise" and i % 2) or (label == "wages" and i % 4 == 0)]
    data = three_topics.subset(keep)
    parts = _parts(data, 3)
    eval_csv = write_labelled_csv(tmp_path / "eval.csv", data)
    config = {**CONFIG, "eval-data-path": str(eval_csv)}
    metrics = run_in_process(parts, out_dir=tmp_path / "model", run_config=config)
    model = IntentModel.load(tmp_path / "model")
    train_labels = [p.labels[i] for p in parts for i in stratified_split(p.labels, test_fraction=0.1, seed=0)[0]]
    assert model.label_counts == tuple(train_labels.count(label) for label in model.labels) and model.prior_correction == 1.0
    assert model.temperature != 1.0
    assert evaluate_centrally(model, eval_csv, TaskConfig.from_run_config(config)) == metrics["final_central"]
    assert TaskConfig.from_run_config({**config, "dp-noise-multiplier": 1.0}).new_model().prior_correction == 0.0
    assert TaskConfig.from_run_config({**config, "client-dp-noise-multiplier": 0.5}).new_model().prior_correction == 0.0


def test_a_run_on_every_row_routes_with_the_temperature_it_was_given(tmp_path, three_topics):
    # `holdout-fraction` 0: no department holds a row out, so no evaluation measures anything; the run
    # still completes, trains on all 120 rows and keeps the fixed temperature (simulate's refit).
    metrics = run_in_process(_parts(three_topics, 3), out_dir=tmp_path, run_config={**CONFIG, "holdout-fraction": 0.0, "temperature": 0.37})
    assert metrics["failures"] == [] and metrics["skipped_rounds"] == [] and metrics["final_departments"] == {}
    model = IntentModel.load(tmp_path)
    assert model.temperature == 0.37 and model.label_counts == (40, 40, 40)
    assert [p.label for p in model.predict(["公积金贷款怎么办", "工地噪音", "老板拖欠工资"])] == ["fund", "noise", "wages"]
    with pytest.raises(TaskConfigError, match="'temperature'"):
        TaskConfig.from_run_config({**CONFIG, "temperature": -1}).temperature()


def test_simulate_measures_on_held_out_rows_then_trains_on_every_row(tmp_path, three_topics):
    def simulate(out, test_fraction, departments=3, partition="iid"):
        return train_held_out_and_refit(
            three_topics, departments=departments, partition=parse_partition(partition), test_fraction=test_fraction, out_dir=out, run_config=CONFIG, runner=run_in_process
        )

    metrics = simulate(tmp_path, 0.2)
    evaluation = json.loads((tmp_path / "evaluation" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["held_out"] == {"train-rows": 96, "test-rows": 24, "model-dir": "evaluation"}
    assert metrics["final_central"] == evaluation["final_central"] and metrics["final_central"]["macro-f1"] > 0.9
    written = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert (written["held_out"], written["final_central"]) == (metrics["held_out"], metrics["final_central"])
    model = IntentModel.load(tmp_path)
    assert sum(model.label_counts) == 120 and model.temperature == evaluation["temperature"]
    egress = (tmp_path / "state" / "department-0" / "egress.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(egress) == 2 * (1 + CONFIG["num-server-rounds"])  # both runs: statistics and three rounds each
    assert len(list((tmp_path / "state" / "department-0").glob("dual-run-*.npz"))) == 2  # two runs: neither resumes the other's variables
    alone = simulate(tmp_path / "alone", 0.0)
    assert alone["held_out"] == alone["final_central"] == {} and not (tmp_path / "alone" / "evaluation").exists()
    assert sum(IntentModel.load(tmp_path / "alone").label_counts) < 120  # departments kept their 10 % to calibrate
    with pytest.raises(DataFileError, match="department"):
        simulate(tmp_path / "empty", 0.2, departments=5, partition="by-label:0")


def test_departments_get_the_text_columns_the_messages_were_read_from(tmp_path, three_topics):
    source = tmp_path / "messages.csv"
    rows = [f"{text},请尽快处理第{i}件,{label}" for i, (text, label) in enumerate(zip(three_topics.texts, three_topics.labels, strict=True))]
    source.write_text("title,detail,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data = read_labelled_csv(source, text_columns=["title", "detail"])
    metrics = train_held_out_and_refit(data, departments=3, partition=parse_partition("iid"), test_fraction=0.2, out_dir=tmp_path / "model", run_config=CONFIG, runner=run_in_process)
    assert metrics["final_central"]["macro-f1"] > 0.9
    for csv_path in [tmp_path / "model" / "test.csv", *sorted((tmp_path / "model" / "partitions").glob("*.csv"))]:
        assert csv_path.read_text(encoding="utf-8").startswith("title,detail,label\n")
    assert sum(IntentModel.load(tmp_path / "model").label_counts) == 120  # messages, though each trained as three rows
    assert [p.label for p in IntentModel.load(tmp_path / "model").predict(["公积金贷款怎么办"])] == ["fund"]


def test_labels_may_hold_commas_and_a_test_split_must_hold_rows(tmp_path, three_topics):
    renamed = {"fund": "住房,公积金", "noise": "噪音", "wages": "欠薪, 劳动"}
    data = LabelledTexts(three_topics.texts, [renamed[label] for label in three_topics.labels])
    labels = sorted(renamed.values())
    config = {**CONFIG, "labels": json.dumps(labels, ensure_ascii=False)}
    assert TaskConfig.from_run_config(config).labels() == tuple(labels)
    metrics = train_held_out_and_refit(data, departments=3, partition=parse_partition("iid"), test_fraction=0.2, out_dir=tmp_path, run_config=config, runner=run_in_process)
    assert metrics["final_central"]["macro-f1"] > 0.9
    model = IntentModel.load(tmp_path)
    assert model.labels == tuple(labels) and model.predict(["公积金贷款怎么办"])[0].label == "住房,公积金"
    for bad in ('["噪音", 3]', "[噪音"):
        with pytest.raises(TaskConfigError, match="'labels'"):
            TaskConfig.from_run_config({**CONFIG, "labels": bad}).labels()
    two_each = data.subset([0, 1, 40, 41, 80, 81])
    with pytest.raises(DataFileError, match="no test rows"):
        train_held_out_and_refit(two_each, departments=3, partition=parse_partition("iid"), test_fraction=0.2, out_dir=tmp_path / "tiny", run_config=config, runner=run_in_process)


def test_an_evaluation_that_measured_nothing_leaves_the_calibration_alone():
    grid = IntentModel.temperature_grid()
    routes = RouteCalibration(3)
    routes.note_nll([2.0, 1.0] + [3.0] * (len(grid) - 2))
    routes.note_nll([0.0] * len(grid))
    assert routes.evaluation_config() == {"temperature": grid[1]}
    fixed = RouteCalibration(3, temperature=0.5)
    fixed.note_nll([2.0, 1.0] + [3.0] * (len(grid) - 2))
    assert fixed.evaluation_config() == {"temperature": 0.5}


def test_a_failing_department_below_quorum_skips_rounds_and_keeps_the_model(tmp_path, three_topics):
    parts = _parts(three_topics, 3)
    parts[2] = LabelledTexts(["只有一条"], ["unknown-label"])  # nothing the run knows: training fails there
    metrics = run_in_process(parts, out_dir=tmp_path, run_config={**CONFIG, "min-nodes": 3})
    assert metrics["skipped_rounds"] == [1, 2, 3]
    assert any("node 3" in f for f in metrics["failures"])
    assert not IntentModel.load(tmp_path).arrays[0].any()
    lenient = run_in_process(parts, out_dir=tmp_path / "lenient", run_config={**CONFIG, "min-nodes": 2})
    assert lenient["skipped_rounds"] == []


def test_idf_comes_from_a_statistics_exchange_logged_by_every_department(tmp_path, three_topics):
    metrics = run_in_process(_parts(three_topics, 3), out_dir=tmp_path, run_config=CONFIG)
    assert metrics["idf"] is True and metrics["idf_departments"] == 3 and metrics["idf_documents"] > 0
    model = IntentModel.load(tmp_path)
    assert model.idf is not None and model.idf.shape == (4096,)
    for dept in range(3):
        first = json.loads((tmp_path / "state" / f"department-{dept}" / "egress.jsonl").read_text(encoding="utf-8").splitlines()[0])
        assert first["server_round"] == 0 and first["arrays"] == [
            {"name": "document-frequency", "shape": [4096], "dtype": "float32", "bytes": 16384},
            {"name": "label-document-frequency", "shape": [4096, 3], "dtype": "float32", "bytes": 49152},
            {"name": "label-rows", "shape": [3], "dtype": "float32", "bytes": 12},
        ]
    assert metrics["label_concentration"] == 1.0 and metrics["statistics_bytes_per_department"] == 16384 + 49152 + 12 + 16384
    plain = run_in_process(_parts(three_topics, 3), out_dir=tmp_path / "plain", run_config={**CONFIG, "num-server-rounds": 1, "label-concentration": 0})
    plain_idf = IntentModel.load(tmp_path / "plain").idf
    assert plain["statistics_bytes_per_department"] == 2 * 16384 and plain_idf is not None
    # IDF times 1 + concentration: a topic's word weighs up to twice as much, a digit every topic uses about the same.
    ratio = model.idf / plain_idf
    assert ratio.min() > 1 - 1e-6 and ratio.max() < 2 + 1e-5
    assert ratio[model.hasher.transform(["公积金"]).indices].max() > 1.5 and ratio[model.hasher.transform(["1"]).indices].max() < 1.2
    dp = run_in_process(_parts(three_topics, 3), out_dir=tmp_path / "dp", run_config={**CONFIG, "num-server-rounds": 1, "dp-noise-multiplier": 1.0, "strategy": "classwise"})
    assert dp["idf"] is False and "DP" in dp["idf_reason"]
    assert IntentModel.load(tmp_path / "dp").idf is None


def test_server_momentum_moves_along_the_velocity_and_skips_leave_it_alone():
    from flwr.app import Array, ArrayRecord

    from federation.server_app import ServerMomentum

    class Fixed:
        def __init__(self) -> None:
            self.next: ArrayRecord | None = None

        def configure_train(self, server_round, arrays, config, grid):
            return []

        def aggregate_train(self, server_round, replies):
            return self.next, None

    inner = Fixed()
    strategy = ServerMomentum(inner, momentum=0.5)  # type: ignore[arg-type]
    strategy.configure_train(1, ArrayRecord({"w": Array(np.zeros(2, np.float32))}), None, None)  # type: ignore[arg-type]
    inner.next = ArrayRecord({"w": Array(np.ones(2, np.float32))})
    first, _ = strategy.aggregate_train(1, [])
    assert np.allclose(first["w"].numpy(), 1.0)
    strategy.configure_train(2, first, None, None)  # type: ignore[arg-type]
    inner.next = ArrayRecord({"w": Array(np.full(2, 2.0, np.float32))})
    second, _ = strategy.aggregate_train(2, [])
    assert np.allclose(second["w"].numpy(), 1.0 + 1.0 + 0.5 * 1.0)
    inner.next = None
    assert strategy.aggregate_train(3, []) == (None, None)
    with pytest.raises(ValueError, match="momentum"):
        ServerMomentum(inner, momentum=1.0)  # type: ignore[arg-type]


def test_statistics_answers_that_are_malformed_are_left_out(monkeypatch):
    from flwr.app import Array, ArrayRecord, MetricRecord, RecordDict
    from flwr.supercore.task_identity import TaskIdentity

    from federation.server_app import collect_statistics
    from federation.task import TaskConfig

    def answer(node: int, counts: np.ndarray, docs: int, by_label: dict[str, np.ndarray] | None = None) -> object:
        arrays = {"document-frequency": counts, **(by_label or {})}

        class Reply:
            content = RecordDict({"statistics": ArrayRecord({k: Array(v) for k, v in arrays.items()}), "metrics": MetricRecord({"num-documents": docs})})

            class metadata:  # noqa: N801 - stands in for Flower's Metadata
                src_node_id = node

            def has_error(self) -> bool:
                return False

        return Reply()

    class Grid:
        def __init__(self, replies: list[object]) -> None:
            self.replies = replies

        def get_node_ids(self) -> list[int]:
            return [1, 2, 3]

        def send_and_receive(self, messages, *, timeout=None):  # type: ignore[no-untyped-def]
            assert [m.metadata.message_type for m in messages] == ["query"] * 3
            return self.replies

    for attr in ("_run_id", "_node_id", "_task_id"):
        monkeypatch.setattr(TaskIdentity, attr, 1)
    good = np.ones(64, np.float32)
    some = np.where(np.arange(64) < 10, 3.0, 0.0).astype(np.float32)
    config = TaskConfig.from_run_config({"n-buckets": 64, "min-nodes": 2, "label-concentration": 0})
    stats = collect_statistics(Grid([answer(1, good, 3), answer(2, some, 5), answer(3, np.full(64, -1.0, np.float32), 4)]), config)  # type: ignore[arg-type]
    assert stats.facts == {"idf": True, "idf_departments": 2, "idf_documents": 8, "label_concentration": 0.0, "statistics_upload_bytes": 256}
    assert stats.idf is not None and stats.idf.shape == (64,)
    assert stats.nodes == {1, 2} and stats.spread is not None and stats.spread.tolist() == [2] * 10 + [1] * 54
    stats = collect_statistics(Grid([answer(1, good, 3), answer(2, np.ones(32, np.float32), 5)]), config)  # type: ignore[arg-type]
    assert stats.idf is None and stats.spread is None and "only 1 of 2" in str(stats.facts["idf_reason"])
    labelled = TaskConfig.from_run_config({"n-buckets": 64, "min-nodes": 1, "labels": "a,b"})
    full = {"label-document-frequency": np.ones((64, 2), np.float32), "label-rows": np.array([2.0, 1.0], np.float32)}
    wrong = {**full, "label-document-frequency": np.ones((64, 3), np.float32)}
    stats = collect_statistics(Grid([answer(1, good, 3, full), answer(2, good, 3), answer(3, good, 3, wrong)]), labelled)  # type: ignore[arg-type]
    assert stats.nodes == {1} and stats.facts["label_concentration"] == 1.0
