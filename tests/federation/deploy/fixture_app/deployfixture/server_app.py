"""Fixture ServerApp: FedAvg with a quorum and a round timeout; writes model.npz and metrics.json."""

import json
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord, RecordDict
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg
from flwr.serverapp.strategy.strategy_utils import aggregate_metricrecords

app = ServerApp()


def _departments(records: list[RecordDict]) -> list[str]:
    return sorted(str(r["meta"]["department-id"]) for r in records if "meta" in r)


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run FedAvg and write the outputs the deployment registry reads."""
    rounds = int(context.run_config["num-server-rounds"])
    min_nodes = int(context.run_config["min-nodes"])
    out_dir = Path(str(context.run_config["model-out-dir"]))
    per_round: dict[int, dict] = {}
    per_department: dict[str, dict[str, float]] = {}

    def train_aggr(records: list[RecordDict], key: str) -> MetricRecord:
        current = len(per_round) + 1
        per_round[current] = {
            "round": current,
            "participants": _departments(records),
            "sample_counts": {str(r["meta"]["department-id"]): int(r["metrics"]["num-examples"]) for r in records},
        }
        return aggregate_metricrecords(records, key)

    def eval_aggr(records: list[RecordDict], key: str) -> MetricRecord:
        for record in records:
            per_department[str(record["meta"]["department-id"])] = {
                "accuracy": float(record["metrics"]["accuracy"]),
                "eval_loss": float(record["metrics"]["eval-loss"]),
            }
        return aggregate_metricrecords(records, key)

    strategy = FedAvg(
        min_train_nodes=min_nodes,
        min_evaluate_nodes=min_nodes,
        min_available_nodes=min_nodes,
        train_metrics_aggr_fn=train_aggr,
        evaluate_metrics_aggr_fn=eval_aggr,
    )
    result = strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord([np.zeros(8)]),
        num_rounds=rounds,
        timeout=float(context.run_config["round-timeout-s"]),
        train_config=ConfigRecord({}),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(out_dir / "model.npz", weights=result.arrays.to_numpy_ndarrays()[0])
    metrics = {
        "rounds": [per_round[k] for k in sorted(per_round)],
        "per_department": per_department,
        "strategy": "fedavg",
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
