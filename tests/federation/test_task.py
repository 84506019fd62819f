"""Run config, department resolution, round files and the round hook."""

from __future__ import annotations

import json
import tomllib
import zlib
from pathlib import Path

import pytest

from federation.chitchat import generate_chitchat
from federation.data import DataFileError, read_labelled_csv, stratified_split
from federation.model import OUT_OF_SCOPE
from federation.task import (
    DEFAULT_RUN_CONFIG,
    SYNTHETIC_OOS_THRESHOLD,
    RoundEvent,
    TaskConfig,
    TaskConfigError,
    append_round,
    load_local_data,
    load_round_hook,
    resolve_department,
    train_department,
)

REPO = Path(__file__).resolve().parents[2]
EVENTS: list[RoundEvent] = []


def record_event(event: RoundEvent) -> None:
    """A round hook for the test below."""
    EVENTS.append(event)


def test_pyproject_app_config_uses_known_keys_only():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["flwr"]["app"]["config"]
    assert set(config) <= set(DEFAULT_RUN_CONFIG)
    TaskConfig.from_run_config(config).new_model()
    components = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["flwr"]["app"]["components"]
    assert components == {"serverapp": "federation.server_app:app", "clientapp": "federation.client_app:app"}


def test_bad_config_is_named():
    with pytest.raises(TaskConfigError, match="unknown run-config key 'rounds'"):
        TaskConfig.from_run_config({"rounds": 3})
    with pytest.raises(TaskConfigError, match="'local-epochs' must be an integer"):
        TaskConfig.from_run_config({"local-epochs": "many"}).int("local-epochs")


@pytest.mark.parametrize(("labels", "request_types", "buckets"), [(7, "none", 2**17), (13, "", 2**17), (32, "none", 2**17), (33, "none", 2**16), (124, "none", 2**15)])
def test_automatic_buckets_keep_every_model_under_20_mb(labels, request_types, buckets):
    config = TaskConfig.from_run_config({"labels": ",".join(f"dept-{i}" for i in range(labels)), "request-types": request_types})
    model = config.new_model()
    assert model.hasher.n_buckets == config.n_buckets() == buckets
    assert model.size_bytes + 4 * buckets <= 20 * 10**6


def test_explicit_buckets_win_and_the_automatic_count_has_a_floor():
    assert TaskConfig.from_run_config({"labels": "a,b", "n-buckets": 4096}).n_buckets() == 4096
    assert TaskConfig.from_run_config({"labels": ",".join(f"dept-{i}" for i in range(5000))}).n_buckets() == 2**12
    with pytest.raises(TaskConfigError, match="'n-buckets' must be 0"):
        TaskConfig.from_run_config({"labels": "a,b", "n-buckets": -1}).n_buckets()


def test_department_from_node_config_or_simulation_partition(tmp_path):
    config = TaskConfig.from_run_config({"partitions-dir": str(tmp_path), "state-dir": str(tmp_path / "s")})
    deployed = resolve_department({"department-id": "hrss", "data-path": str(tmp_path / "hrss.csv")}, config)
    assert deployed.department_id == "hrss" and deployed.state_dir == tmp_path / "s" / "hrss"
    simulated = resolve_department({"partition-id": 2, "num-partitions": 5}, config)
    assert simulated.data_path == tmp_path / "department-2.csv"
    with pytest.raises(TaskConfigError, match="data-path"):
        resolve_department({}, TaskConfig.from_run_config({}))


def test_round_hook_and_rounds_file(tmp_path):
    hook = load_round_hook("tests.federation.test_task:record_event")
    event = RoundEvent(run_id="7", server_round=1, model_out_dir=str(tmp_path), metrics={"central": {"macro-f1": 0.5}})
    append_round(tmp_path, event)
    hook(event)
    assert EVENTS[-1] is event
    assert json.loads((tmp_path / "rounds.jsonl").read_text(encoding="utf-8"))["server_round"] == 1
    with pytest.raises(TaskConfigError, match="cannot be imported"):
        load_round_hook("no.such.module:fn")
    with pytest.raises(TaskConfigError, match="package.module:function"):
        load_round_hook("justaname")


def test_a_department_also_trains_on_each_text_column_alone(tmp_path):
    # 12 messages of two topics; every third has no detail, so its title is the whole text (no extra row).
    path = tmp_path / "department.csv"
    lines = ["title,detail,label"]
    for i in range(12):
        topic, title, detail = ("fund", "公积金提取", "需要哪些材料") if i % 2 else ("noise", "夜间施工噪音", "吵得睡不着")
        lines.append(f"{title}{i},{'' if i % 3 == 0 else detail},{topic}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dept = resolve_department({"data-path": str(path), "department-id": "d"}, TaskConfig.from_run_config({}))
    run = {"labels": "fund,noise", "request-types": "none", "n-buckets": 4096, "text-columns": "title,detail", "holdout-fraction": 0.25}
    config = TaskConfig.from_run_config(run)
    model = config.new_model()
    local = load_local_data(dept, config, model)
    data = read_labelled_csv(path, text_columns=["title", "detail"])
    train_idx, eval_idx = stratified_split(data.labels, test_fraction=0.25, seed=0)
    extra = [(i, part) for i in train_idx for part in data.column_texts[i] if part and part != data.texts[i]]
    assert local.messages == len(train_idx) == 8 and local.x_eval.shape[0] == len(eval_idx) == 4
    assert local.x_train.shape[0] == 8 + len(extra) and 0 < len(extra) < 2 * 8
    assert (local.x_train[8:] != model.features([part for _, part in extra])).nnz == 0
    assert local.y_train[8:].tolist() == model.encode_labels([data.labels[i] for i, _ in extra], model.labels).tolist()
    _, metrics = train_department(model=model, local=local, config=config, dept=dept, run_id="r1", server_round=1, seed=0)
    assert sum(metrics["label-counts"]) == 8  # the prior correction counts messages, not rows
    for off in ({"column-rows": False}, {"dp-noise-multiplier": 1.0}):  # one citizen's message is one DP record
        assert load_local_data(dept, TaskConfig.from_run_config({**run, **off}), model).x_train.shape[0] == 8


def test_departments_train_synthetic_chitchat_as_out_of_scope_when_it_is_a_label(tmp_path):
    path = tmp_path / "department.csv"
    path.write_text("text,label\n" + "".join(f"公积金提取{i},fund\n夜间施工噪音{i},noise\n" for i in range(10)), encoding="utf-8")
    run = {"labels": f"fund,noise,{OUT_OF_SCOPE}", "request-types": "none", "n-buckets": 4096, "out-of-scope-rows": 30}
    config = TaskConfig.from_run_config(run)
    model = config.new_model()
    assert model.oos_threshold == SYNTHETIC_OOS_THRESHOLD
    local = load_local_data(resolve_department({"data-path": str(path), "department-id": "d1"}, config), config, model)
    plain = load_local_data(resolve_department({"data-path": str(path), "department-id": "d1"}, config), TaskConfig.from_run_config({**run, "out-of-scope-rows": 0}), model)
    # The chit-chat rows follow the messages: the held-out rows and the message count stay the department's own.
    assert local.messages == plain.messages == 18 and local.x_eval.shape == plain.x_eval.shape
    assert local.x_train.shape[0] == plain.x_train.shape[0] + 30 and (local.x_train[:18] != plain.x_train).nnz == 0
    assert local.y_train[18:].tolist() == [model.labels.index(OUT_OF_SCOPE)] * 30
    seeded = generate_chitchat(30, seed=zlib.crc32(b"d1"))
    assert (local.x_train[18:] != model.features(seeded)).nnz == 0
    other = load_local_data(resolve_department({"data-path": str(path), "department-id": "d2"}, config), config, model)
    assert (other.x_train[18:] != local.x_train[18:]).nnz > 0  # each department draws its own
    # A department without messages of the run's labels has nothing to train, chit-chat or not.
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("text,label\n你好,unknown\n", encoding="utf-8")
    dept = resolve_department({"data-path": str(stranger), "department-id": "d3"}, config)
    with pytest.raises(DataFileError, match="d3: no training rows"):
        train_department(model=model, local=load_local_data(dept, config, model), config=config, dept=dept, run_id="r1", server_round=1, seed=0)
    # Without the label there is nothing to train them as; a negative count is named.
    assert TaskConfig.from_run_config({**run, "labels": "fund,noise"}).out_of_scope_rows() == 0
    assert TaskConfig.from_run_config({**run, "labels": "fund,noise"}).new_model().oos_threshold == 0.5
    with pytest.raises(TaskConfigError, match="'out-of-scope-rows' must be 0"):
        TaskConfig.from_run_config({**run, "out-of-scope-rows": -1}).out_of_scope_rows()
    with pytest.raises(TaskConfigError, match="'oos-threshold' must be 0"):
        TaskConfig.from_run_config({**run, "oos-threshold": 1.5}).new_model()
    assert TaskConfig.from_run_config({**run, "oos-threshold": 0.9}).new_model().oos_threshold == 0.9
