"""What `hotline federation simulate`'s refit on every row is worth, on messages the city never gave it.

Each split keeps 40 % of the visible rows (`--new-fraction`) as new messages (stratified, seeds 100,
101, ...); the rest is the file a city would give `simulate`. `train_held_out_and_refit` runs the CLI's recipe on it
through the in-process grid: a held-out run (its model was what `simulate` saved before: trained on
80 % of the file, of which departments keep 10 % to calibrate) and the refit on every row with that
run's temperature. Both models are scored on the new messages, paired per split, and so is
`--test-fraction 0` (one run on every row, departments keeping 10 % to calibrate). Also printed: the
held-out estimate (`metrics.json` `final_central`), to set beside the refit's score on new messages.
Ends with one JSON line.

    cd benchmarks && ../.venv/bin/python bench_federation_refit.py [--splits 5] [--rounds 20] [--datasets zhihu,taipei] [--new-fraction 0.4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_federation_accuracy import evaluate, load_taipei
from federation.data import parse_partition, stratified_split
from federation.model import IntentModel
from federation.simulation import run_in_process, train_held_out_and_refit
from federation.task import DEFAULT_RUN_CONFIG
from real_data import load_zhihu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=int(DEFAULT_RUN_CONFIG["num-server-rounds"]))
    parser.add_argument("--datasets", default="zhihu,taipei")
    parser.add_argument("--new-fraction", type=float, default=0.4, help="Share of the visible rows kept back as new messages.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-fed-refit-"))
    loaders = {"zhihu": (load_zhihu, 7), "taipei": (load_taipei, 10)}
    results: dict[str, dict[str, object]] = {}
    run_config = {"request-types": "none", "num-server-rounds": args.rounds}
    for name in args.datasets.split(","):
        loader, n_depts = loaders[name]
        data = loader()
        labels = sorted(set(data.labels))
        for spec in ("by-label", "dirichlet:0.5"):
            recipe = {"departments": n_depts, "partition": parse_partition(spec), "run_config": {**run_config, "labels": ",".join(labels)}, "runner": run_in_process}
            held, refit, alone, estimate, seconds = [], [], [], [], []
            for split in range(args.splits):
                given_idx, new_idx = stratified_split(data.labels, test_fraction=args.new_fraction, seed=100 + split)
                given, new = data.subset(given_idx), data.subset(new_idx)
                out = work / f"{name}-{spec}-{split}"
                start = time.perf_counter()
                metrics = train_held_out_and_refit(given, test_fraction=0.2, out_dir=out, **recipe)  # type: ignore[arg-type]
                seconds.append(time.perf_counter() - start)
                train_held_out_and_refit(given, test_fraction=0.0, out_dir=out / "alone", **recipe)  # type: ignore[arg-type]
                held.append(evaluate(IntentModel.load(out / "evaluation"), new))
                refit.append(evaluate(IntentModel.load(out), new))
                alone.append(evaluate(IntentModel.load(out / "alone"), new))
                estimate.append(float(metrics["final_central"]["macro-f1"]))  # type: ignore[index]
            gain = 100 * (np.asarray(refit) - np.asarray(held))
            row = {
                "departments": n_depts,
                "given_rows": len(given_idx),
                "new_messages": len(new_idx),
                "held_out_run_model": statistics.mean(held),
                "refit_model": statistics.mean(refit),
                "test_fraction_0_model": statistics.mean(alone),
                "gain_pts": float(gain.mean()),
                "gain_se_pts": float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else 0.0,
                "splits_gained": int((gain > 0).sum()),
                "held_out_estimate": statistics.mean(estimate),
                "median_seconds_both_runs": statistics.median(seconds),
                "per_split": {"held_out_run_model": held, "refit_model": refit, "test_fraction_0_model": alone},
            }
            results[f"{name}/{spec}"] = row
            print(
                f"{name:7s} {spec:14s} held-out run's model {row['held_out_run_model']:.3f}  refit {row['refit_model']:.3f}  "
                f"({row['gain_pts']:+.2f} ± {row['gain_se_pts']:.2f} pts, ratio {row['refit_model'] / row['held_out_run_model']:.3f}, "
                f"{row['splits_gained']}/{args.splits} splits gained)  --test-fraction 0 {row['test_fraction_0_model']:.3f}  "
                f"held-out estimate {row['held_out_estimate']:.3f}  "
                f"{row['median_seconds_both_runs']:.0f} s per simulate",
                flush=True,
            )
    print(json.dumps({"splits": args.splits, "rounds": args.rounds, "new_fraction": args.new_fraction, "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
