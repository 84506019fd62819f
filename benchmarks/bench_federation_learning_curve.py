"""How the model `hotline federation simulate` saves grows with the rows a city gives it, extrapolated to every visible row.

The sealed evaluation scores a model trained on all the visible rows, which leaves no visible rows to
score it on. This benchmark measures the nearest thing: each split keeps 20 % of the visible rows
as new messages (stratified, seeds 100, 101, ...) and gives `simulate`'s recipe
(`train_held_out_and_refit`, in-process grid) nested, stratified shares of the rest (by default
60 %, 80 % and 100 % of it). The refit models are scored on the same new messages, so the steps
between sizes are paired. Per split, macro-F1 is fitted as a + b·ln(rows) and read off at the
visible row count, 1.25 times the largest size: an extrapolation, not a measurement. Ends with
one JSON line.

    cd benchmarks && ../.venv/bin/python bench_federation_learning_curve.py [--splits 5] [--rounds 20] [--shares 0.6,0.8,1.0] [--partitions by-label,dirichlet:0.5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

from bench_federation_accuracy import evaluate
from federation.data import parse_partition, stratified_split
from federation.model import IntentModel
from federation.simulation import run_in_process, train_held_out_and_refit
from federation.task import DEFAULT_RUN_CONFIG
from real_data import load_zhihu

NEW_FRACTION = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=int(DEFAULT_RUN_CONFIG["num-server-rounds"]))
    parser.add_argument("--shares", default="0.6,0.8,1.0", help="Shares of the given rows to train on, ascending.")
    parser.add_argument("--partitions", default="by-label,dirichlet:0.5")
    args = parser.parse_args()
    shares = [float(s) for s in args.shares.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-fed-curve-"))
    data = load_zhihu()
    labels = sorted(set(data.labels))
    run_config = {"request-types": "none", "num-server-rounds": args.rounds, "labels": ",".join(labels)}
    results: dict[str, dict[str, object]] = {}
    for spec in args.partitions.split(","):
        recipe = {"departments": len(labels), "partition": parse_partition(spec), "run_config": run_config, "runner": run_in_process}
        scores = np.zeros((args.splits, len(shares)))
        rows = np.zeros(len(shares), dtype=int)
        for split in range(args.splits):
            given_idx, new_idx = stratified_split(data.labels, test_fraction=NEW_FRACTION, seed=100 + split)
            given, new = data.subset(given_idx), data.subset(new_idx)
            for j, share in enumerate(shares):
                # Nested: a smaller share keeps a stratified part of the given rows (the split's own seed).
                part = given if share >= 1.0 else given.subset(stratified_split(given.labels, test_fraction=1.0 - share, seed=split)[0])
                out = work / f"{spec}-{split}-{share}"
                train_held_out_and_refit(part, test_fraction=0.2, out_dir=out, **recipe)  # type: ignore[arg-type]
                scores[split, j] = evaluate(IntentModel.load(out), new)
                rows[j] = len(part)
            print(f"{spec} split {split}: " + "  ".join(f"{n} rows {s:.3f}" for n, s in zip(rows, scores[split])), flush=True)
        visible = len(data)
        slopes, at_visible = [], []
        for per_split in scores:
            b, a = np.polyfit(np.log(rows), per_split, 1)
            slopes.append(float(b))
            at_visible.append(float(a + b * np.log(visible)))
        steps = 100 * np.diff(scores, axis=1)
        row = {
            "rows": rows.tolist(),
            "new_messages": len(new_idx),
            "macro_f1": scores.mean(axis=0).tolist(),
            "step_pts": steps.mean(axis=0).tolist(),
            "step_se_pts": (steps.std(axis=0, ddof=1) / np.sqrt(args.splits)).tolist() if args.splits > 1 else [0.0] * steps.shape[1],
            "pts_per_doubling": 100 * np.log(2) * statistics.mean(slopes),
            "visible_rows": visible,
            "extrapolated_at_visible": statistics.mean(at_visible),
            "extrapolated_se": statistics.stdev(at_visible) / np.sqrt(args.splits) if args.splits > 1 else 0.0,
            "per_split": scores.tolist(),
        }
        results[spec] = row
        print(
            f"{spec:14s} " + "  ".join(f"{n} rows {m:.3f}" for n, m in zip(rows, row["macro_f1"]))
            + f"  (+{row['pts_per_doubling']:.1f} pts per doubling)  extrapolated to {visible} rows: "
            f"{row['extrapolated_at_visible']:.3f} ± {row['extrapolated_se']:.3f}",
            flush=True,
        )
    print(json.dumps({"splits": args.splits, "rounds": args.rounds, "shares": shares, "new_fraction": NEW_FRACTION, "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
