"""CLI contracts: `hotline intent predict` on stdin/stdout, `hotline federation simulate` end to end, `ledger`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from federation.cli import app, intent_app
from federation.data import write_labelled_csv
from federation.model import OUT_OF_SCOPE, FeatureHasher, IntentModel
from federation.task import SYNTHETIC_OOS_THRESHOLD

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, three_topics) -> Path:
    labels = ("fund", "noise", "wages")
    model = IntentModel(labels=labels, hasher=FeatureHasher(n_buckets=2**14))
    x = model.hasher.transform(three_topics.texts)
    model.fit(x, model.encode_labels(three_topics.labels, labels), epochs=10, learning_rate=10.0, optimizer="sgd")
    return model.save(tmp_path_factory.mktemp("model"))


def test_predict_answers_every_line_in_order_and_flags_bad_lines(model_dir):
    lines = [
        json.dumps({"text": "公积金提取要什么材料"}, ensure_ascii=False),
        "not json",
        json.dumps({"text": 42}),
        json.dumps({"text": "老板拖欠工资"}, ensure_ascii=False),
        json.dumps(["text"]),
    ]
    result = runner.invoke(intent_app, ["predict", "--model", str(model_dir)], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["label"] == "fund" and 0 < out[0]["score"] <= 1
    assert out[1] == {"error": "bad_input_line", "line": 2, "detail": "invalid JSON"}
    assert out[2]["error"] == "bad_input_line" and out[4]["error"] == "bad_input_line"
    assert out[3]["label"] == "wages"


def test_predict_with_missing_model_is_one_clear_line(tmp_path):
    result = runner.invoke(intent_app, ["predict", "--model", str(tmp_path)], input="")
    assert result.exit_code == 2
    assert "has no model.json" in result.output and "Traceback" not in result.output


def test_simulate_rejects_bad_options_without_traceback(tmp_path):
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("title,label\n你好,a\n", encoding="utf-8")
    for args, message in [
        (["--partition", "random"], "unknown partition"),
        (["--strategy", "magic"], "unknown strategy"),
        (["--strategy", "cocoa", "--dp-noise", "1.0"], "record-level DP"),
        (["--label-column", "topic"], "missing column"),
        (["--test-fraction", "1"], "--test-fraction"),
    ]:
        result = runner.invoke(app, ["simulate", "--data", str(csv_path), "--text-columns", "title", "--out", str(tmp_path / "o"), *args])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


def test_ledger_command_reports_missing_state(tmp_path):
    result = runner.invoke(app, ["ledger", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1 and "[ledger_missing]" in result.output and "Traceback" not in result.output


@pytest.mark.flower
@pytest.mark.slow
@pytest.mark.timeout(480)
def test_simulate_end_to_end_with_flower_then_predict(tmp_path, three_topics):
    """Real Flower simulation (Ray): 3 departments by label, DP-SGD on, synthetic out-of-scope rows, a held-out run and the refit on every row, then the predict contract."""
    data = write_labelled_csv(tmp_path / "msgs.csv", three_topics)
    out = tmp_path / "model"
    env = {**os.environ, "HOTLINE_FEDERATION_SIMULATION_NUM_CPUS": "2"}
    cmd = [str(Path(sys.executable).with_name("hotline"))]
    proc = subprocess.run(
        [*cmd, "federation", "simulate", "--data", str(data), "--text-columns", "text", "--label-column", "label",
         "--departments", "3", "--partition", "by-label:0.1", "--rounds", "2", "--out", str(out), "--seed", "1", "--dp-noise", "0.8", "--out-of-scope-rows", "20"],
        capture_output=True, text=True, timeout=400, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["departments"] == 3 and summary["macro_f1"] is not None
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["num_rounds"] == 2 and metrics["skipped_rounds"] == [] and len(metrics["rounds"]) == 2
    assert len((out / "rounds.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    # The figures are the held-out run's (96 rows, scored on the other 24); the saved model learnt from all 120.
    assert metrics["held_out"] == {"train-rows": 96, "test-rows": 24, "model-dir": "evaluation"}
    assert metrics["final_central"]["macro-f1"] == summary["macro_f1"] and metrics["final_central"]["num-examples"] == 24
    assert summary["trained_rows"] == 120 and (out / "evaluation" / "model.json").is_file()
    model = IntentModel.load(out)
    # Departments also trained synthetic chit-chat as out_of_scope; the label counts are their messages.
    assert model.labels == ("fund", "noise", "wages", OUT_OF_SCOPE) and model.label_counts[-1] == 0 and sum(model.label_counts) == 120
    assert model.oos_threshold == SYNTHETIC_OOS_THRESHOLD
    assert model.temperature == json.loads((out / "evaluation" / "metrics.json").read_text(encoding="utf-8"))["temperature"]
    # Both runs read the departments' records: both count in their ledgers and egress logs.
    ledgers = runner.invoke(app, ["ledger", "--state-dir", str(out / "state")])
    rows = [json.loads(line) for line in ledgers.stdout.splitlines()]
    assert [r["department_id"] for r in rows] == ["department-0", "department-1", "department-2"]
    assert all(r["dp_rounds"] == 4 and r["epsilon"] > 0 for r in rows)
    egress = (out / "state" / "department-0" / "egress.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(egress) == 4 and json.loads(egress[0])["dp"]["noise_multiplier"] == 0.8
    result = runner.invoke(intent_app, ["predict", "--model", str(out)], input='{"text": "公积金贷款额度怎么算"}\n')
    assert json.loads(result.stdout)["label"] in model.labels


def test_predict_streams_an_answer_before_the_input_ends(model_dir):
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("hotline")), "intent", "predict", "--model", str(model_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        proc.stdin.write(json.dumps({"text": "工地夜间施工噪音"}, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())
        assert first["label"] == "noise"
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0
