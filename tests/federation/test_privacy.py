"""The per-department (ε, δ) ledger across rounds and runs, the budget, and the egress log."""

from __future__ import annotations

import json

import dp_accounting
import pytest
from dp_accounting import rdp

from federation.data import LabelledTexts, write_labelled_csv
from federation.privacy import DpRelease, PrivacyBudgetExceeded, PrivacyLedger, epsilon_of
from federation.task import Department, TaskConfig, load_local_data, record_egress, train_department


def _release(run: str, rnd: int, steps: int = 40) -> DpRelease:
    return DpRelease(run, rnd, sampling_rate=0.05, noise_multiplier=1.1, steps=steps, clip_norm=1.0, at="2026-01-01T00:00:00+00:00")


def test_epsilon_matches_dp_accounting_rdp():
    acc = rdp.RdpAccountant()
    acc.compose(dp_accounting.PoissonSampledDpEvent(0.05, dp_accounting.GaussianDpEvent(1.1)), 80)
    assert epsilon_of([_release("r", 1), _release("r", 2)], delta=1e-5) == pytest.approx(acc.get_epsilon(1e-5))


def test_ledger_accumulates_across_rounds_and_runs(tmp_path):
    path = tmp_path / "dept" / "privacy_ledger.json"
    first = PrivacyLedger(path, department_id="d1")
    eps1 = first.record(_release("run-a", 1))
    eps2 = first.record(_release("run-a", 2))
    reopened = PrivacyLedger(path, department_id="d1")
    eps3 = reopened.record(_release("run-b", 1))
    assert 0 < eps1 < eps2 < eps3
    summary = PrivacyLedger(path, department_id="d1").summary()
    assert summary["runs"] == ["run-a", "run-b"] and summary["dp_rounds"] == 3
    assert summary["epsilon"] == pytest.approx(eps3)


def test_a_round_without_dp_makes_epsilon_unbounded(tmp_path):
    ledger = PrivacyLedger(tmp_path / "l.json", department_id="d")
    ledger.record(None)
    assert ledger.summary()["epsilon"] is None
    assert ledger.summary()["non_private_rounds"] == 1


def _department(tmp_path, three_topics: LabelledTexts) -> Department:
    data = write_labelled_csv(tmp_path / "data.csv", three_topics)
    return Department("d1", data, tmp_path / "state")


def test_training_refuses_to_exceed_the_budget_and_logs_egress(tmp_path, three_topics):
    dept = _department(tmp_path, three_topics)
    config = TaskConfig.from_run_config(
        {"labels": "fund,noise,wages", "request-types": "none", "n-buckets": 4096, "dp-noise-multiplier": 1.5, "dp-sampling-rate": 0.1, "local-epochs": 1, "dp-max-epsilon": 2.4}
    )
    model = config.new_model()
    local = load_local_data(dept, config, model)
    epsilons = []
    with pytest.raises(PrivacyBudgetExceeded, match="budget 2.40"):
        for rnd in range(1, 50):
            _, metrics = train_department(model=model, local=local, config=config, dept=dept, run_id="r1", server_round=rnd, seed=rnd)
            record_egress(dept=dept, run_id="r1", server_round=rnd, model=model, metrics=metrics, config=config)
            epsilons.append(metrics["epsilon"])
    assert epsilons == sorted(epsilons) and epsilons[-1] <= 2.4 and len(epsilons) == 3
    assert PrivacyLedger(dept.ledger_path, department_id="d1").epsilon == pytest.approx(epsilons[-1])
    lines = [json.loads(line) for line in dept.egress_path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(epsilons)
    assert lines[0]["arrays"][0] == {"name": "param-0", "shape": [4096, 3], "dtype": "float32", "bytes": 4096 * 3 * 4}
    assert lines[0]["dp"]["clip_norm"] == 1.0 and lines[-1]["dp"]["epsilon_total"] == epsilons[-1]
    assert "texts" not in lines[0]["metrics"] and lines[0]["metrics"]["label-counts"] == [36, 36, 36]  # 90 % of 40 per topic (10 % stays home)
