"""Cost of privacy: record-level DP-SGD (ε after R rounds), client-level DP and SecAgg+, vs none; bytes per round.

Data: ../shared/data/zhihuizhengwu_message_classification, stratified 20 % test split, the rest
spread by `dirichlet:0.5` over 7 departments. Baseline: the same run without DP. SecAgg+ is compared
with plain FedAvg on the same features (IDF weights from the departments' summed document
frequencies; SecAgg+ also without them), all through a grid that counts serialised bytes. Ends with one JSON line.

    .venv/bin/python benchmarks/bench_federation_privacy.py [--engine flower] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from federation.data import parse_partition, partition_indices
from federation.privacy import LEDGER_FILE, PrivacyLedger
from federation.secagg import run_counted_in_process
from federation.simulation import run_federated_simulation, run_in_process
from real_data import held_out_split, load_zhihu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["inprocess", "flower"], default="inprocess")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-secagg", action="store_true", help="Skip the DP settings.")
    args = parser.parse_args()
    data = load_zhihu()
    labels = tuple(sorted(set(data.labels)))
    work = Path(tempfile.mkdtemp(prefix="bench-fed-dp-"))
    train, _, test_path = held_out_split(data, seed=args.seed, test_csv=work / "test.csv")
    parts = [train.subset(ix) for ix in partition_indices(train.labels, 7, parse_partition("dirichlet:0.5"), seed=args.seed)]
    run = run_federated_simulation if args.engine == "flower" else run_in_process
    base = {"labels": ",".join(labels), "request-types": "none", "strategy": "classwise", "num-server-rounds": args.rounds, "eval-data-path": str(test_path)}
    settings = {
        "no_dp": {},
        "dp_sgd_sigma1.0": {"dp-noise-multiplier": 1.0, "dp-sampling-rate": 0.1, "dp-clip-norm": 1.0, "local-epochs": 2, "learning-rate": 2.0},
        "dp_sgd_sigma2.0": {"dp-noise-multiplier": 2.0, "dp-sampling-rate": 0.1, "dp-clip-norm": 1.0, "local-epochs": 2, "learning-rate": 2.0},
        "client_dp_sigma0.5": {"client-dp-noise-multiplier": 0.5, "client-dp-clip-norm": 5.0},
    }
    results = {}
    for name, extra in ({} if args.only_secagg else settings).items():
        out = work / name
        metrics = run(parts, out_dir=out, run_config={**base, **extra})
        eps = [PrivacyLedger(p, department_id=p.parent.name).summary()["epsilon"] for p in sorted((out / "state").glob(f"*/{LEDGER_FILE}"))]
        finite = [e for e in eps if e is not None]
        results[name] = {
            "macro_f1": metrics["final_central"]["macro-f1"],
            "epsilon_max": max(finite) if finite and len(finite) == len(eps) else None,
            "delta": 1e-5,
            "bytes_per_department_per_round": metrics["bytes_per_department_per_round"],
            "skipped_rounds": metrics["skipped_rounds"],
        }
    secure: dict[str, dict[str, object]] = {}
    # Like with like: both sum the departments' document frequencies into IDF weights (SecAgg+ runs in
    # a secure round of their own); the last row shows what that round is worth.
    for name, is_secure, idf in (("fedavg_plain", False, True), ("fedavg_secagg", True, True), ("fedavg_secagg_no_idf", True, False)):
        config = {**base, "strategy": "fedavg", "idf-weighting": idf}
        metrics = run_counted_in_process(parts, out_dir=work / name, run_config=config, secure=is_secure)
        secure[name] = {
            "macro_f1": metrics["final_central"]["macro-f1"],
            "seconds_per_round": metrics["train_seconds"] / args.rounds,  # type: ignore[operator]
            "wire_bytes_per_department_per_round": metrics["wire_bytes_per_department_per_round"],
            "wire_bytes_up_per_department_per_round": metrics["wire_bytes_up_per_department_per_round"],
            "failures": metrics["failures"],
        }
    for name, row in secure.items():
        row["f1_cost_pts"] = 100 * (secure["fedavg_plain"]["macro_f1"] - row["macro_f1"])  # type: ignore[operator]
        print(f"{name:20s} macro-F1 {row['macro_f1']:.3f} (cost {row['f1_cost_pts']:+.2f} pts)  {row['seconds_per_round']:.2f} s/round  "
              f"wire bytes/department/round {row['wire_bytes_per_department_per_round'] / 1e6:.2f} MB (up {row['wire_bytes_up_per_department_per_round'] / 1e6:.2f} MB)", flush=True)
    for name, row in results.items():
        row["f1_cost_pts"] = 100 * (results["no_dp"]["macro_f1"] - row["macro_f1"])
        eps = "∞ (no record-level DP)" if row["epsilon_max"] is None else f"{row['epsilon_max']:.2f}"
        print(f"{name:20s} macro-F1 {row['macro_f1']:.3f} (cost {row['f1_cost_pts']:+.1f} pts)  ε per record after {args.rounds} rounds: {eps}  "
              f"bytes/department/round {row['bytes_per_department_per_round']}", flush=True)
    print(json.dumps({"bench": "federation_privacy", "engine": args.engine, "rounds": args.rounds, "departments": 7, "results": results, "secure_aggregation": secure}, ensure_ascii=False))


if __name__ == "__main__":
    main()
