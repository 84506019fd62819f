"""Macro-F1 of federated vs centralized vs each department alone, on real citizen messages and FAQ routing.

Data: ../shared/data/zhihuizhengwu_message_classification (7 topics = 7 departments) and
../shared/data/taipei_gov_faq (department routing, Traditional→Simplified, departments with ≥ 20 rows).
A stratified 20 % test split is held out; the rest is spread over departments (`by-label`,
`dirichlet:0.5`). Federated runs use the real ServerApp/ClientApp code through the in-process grid
(`--engine flower` uses Flower's simulation engine instead). Ends with one JSON line.

    .venv/bin/python benchmarks/bench_federation_accuracy.py [--engine flower] [--rounds 10] [--splits 5] [--methods cocoa,classwise] [--prior-correction 0] [--column-rows 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from federation.data import LabelledTexts, parse_partition, partition_indices, stratified_split
from federation.dual import dual_ascent, empty_duals
from federation.model import FeatureHasher, IntentModel, macro_f1
from federation.simulation import run_federated_simulation, run_in_process
from federation.task import DEFAULT_RUN_CONFIG, feature_counts, featurise_split, label_counts, with_idf
from real_data import DATA, held_out_split, load_zhihu



def load_taipei(min_rows: int = 20) -> LabelledTexts:
    """Taipei FAQ questions → department, converted to Simplified Chinese, departments with ≥ min_rows."""
    import opencc

    conv = opencc.OpenCC("t2s")
    with (DATA / "taipei_gov_faq" / "faq.csv").open(encoding="utf-8") as fh:
        rows = [(conv.convert(r["question"]), r["department"]) for r in csv.DictReader(fh) if r["question"].strip()]
    counts = Counter(d for _, d in rows)
    rows = [(q, conv.convert(d)) for q, d in rows if counts[d] >= min_rows]
    return LabelledTexts([q for q, _ in rows], [d for _, d in rows])


def evaluate(model: IntentModel, test: LabelledTexts) -> float:
    """Macro-F1 of a model on a test set, routing as the hotline does (calibrated, prior-corrected scores)."""
    y = model.encode_labels(test.labels, model.labels)
    logits, _ = model.logits(model.features(test.texts))
    return macro_f1(y, model.routes(logits), len(model.labels))


def train_alone(
    data: LabelledTexts,
    labels: tuple[str, ...],
    *,
    prior_correction: float,
    epochs: int = 20,
    seed: int = 0,
    sgd: bool = False,
    column_rows: bool = True,
    label_concentration: float = float(DEFAULT_RUN_CONFIG["label-concentration"]),  # type: ignore[arg-type]
) -> IntentModel:
    """One model on one data set the way each department's share is used in the federation
    (`featurise_split`): the same `holdout-fraction` held out to calibrate the temperature, the same
    column rows (unless `column_rows` is false), feature weights (IDF, `label_concentration`) from the
    training rows, the same loss, C and prior correction; solved by dual coordinate ascent (what `cocoa`
    converges to), or with `sgd` by the SGD settings of the SGD strategies."""
    config = DEFAULT_RUN_CONFIG
    model = IntentModel(labels=labels, hasher=FeatureHasher(), loss=str(config["loss"]), prior_correction=prior_correction)
    local = featurise_split(data, model, holdout_fraction=float(config["holdout-fraction"]), seed=seed, column_rows=column_rows)
    model.idf = feature_counts(local, len(labels), by_label=label_concentration > 0).weights(label_concentration)
    local = with_idf(local, model.idf)
    if sgd:
        model.fit(local.x_train, local.y_train, epochs=epochs, learning_rate=float(config["learning-rate"]), optimizer=str(config["optimizer"]), seed=seed)
    else:
        dual_ascent(model, local.x_train, [local.y_train], empty_duals(model, local.x_train.shape[0]), c=float(config["svm-c"]), epochs=epochs, seed=seed)  # type: ignore[arg-type]
    model.label_counts = tuple(label_counts(local.y_train[: local.messages], len(labels)))
    if len(local.y_eval):
        model.calibrate(local.x_eval, local.y_eval)
    return model


def federated(parts: list[LabelledTexts], test_path: Path, labels: tuple[str, ...], *, strategy: str, rounds: int, engine: str, work: Path, extra: dict | None = None) -> dict:
    """Run one federated training; returns the server's metrics dict plus wall seconds."""
    config = {"labels": ",".join(labels), "request-types": "none", "strategy": strategy, "num-server-rounds": rounds, "eval-data-path": str(test_path), **(extra or {})}
    start = time.perf_counter()
    if engine == "flower":
        metrics = run_federated_simulation(parts, out_dir=work, run_config=config)
    else:
        metrics = run_in_process(parts, out_dir=work, run_config=config)
    metrics["wall_s"] = time.perf_counter() - start
    return metrics


# (column, strategy, extra run config): FedAvg, FedAvg with server momentum 0.5 (FedAvgM), class-wise
# averaging (the SGD default) and CoCoA+ (the default).
METHODS = (("fedavg", "fedavg", {}), ("fedavgm", "fedavg", {"server-momentum": 0.5}), ("classwise", "classwise", {}), ("cocoa", "cocoa", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["inprocess", "flower"], default="inprocess")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", type=int, default=1, help="Average over this many stratified splits (seeds seed, seed+1, ...).")
    parser.add_argument("--datasets", default="zhihu,taipei")
    parser.add_argument("--methods", default=",".join(m for m, _, _ in METHODS))
    parser.add_argument("--prior-correction", type=float, default=float(DEFAULT_RUN_CONFIG["prior-correction"]), help="τ for every model (0 = argmax of the raw scores).")
    parser.add_argument("--column-rows", type=int, choices=[0, 1], default=1, help="1 = messages of several text columns also train as one row per column (the default).")
    parser.add_argument(
        "--label-concentration", type=float, default=float(DEFAULT_RUN_CONFIG["label-concentration"]), help="a of the feature weights, IDF × (1 + a × label concentration); 0 = plain IDF."  # type: ignore[arg-type]
    )
    args = parser.parse_args()
    tau = args.prior_correction
    alone = {"prior_correction": tau, "column_rows": bool(args.column_rows), "label_concentration": args.label_concentration}
    run = {"prior-correction": tau, "column-rows": bool(args.column_rows), "label-concentration": args.label_concentration}
    methods = [m for m in METHODS if m[0] in args.methods.split(",")]
    results: dict[str, dict] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-fed-acc-"))
    loaders = {"zhihu": (load_zhihu, 7), "taipei": (load_taipei, 10)}
    for name in args.datasets.split(","):
        loader, n_depts = loaders[name]
        data = loader()
        labels = tuple(sorted(set(data.labels)))
        for spec in ("by-label", "dirichlet:0.5"):
            per_split = []
            for seed in range(args.seed, args.seed + args.splits):
                train, test, test_path = held_out_split(data, seed=seed, test_csv=work / f"{name}-{seed}-test.csv")
                parts = [train.subset(ix) for ix in partition_indices(train.labels, n_depts, parse_partition(spec), seed=seed)]
                split = {
                    "centralized": evaluate(train_alone(train, labels, seed=seed, **alone), test),
                    "centralized_sgd": evaluate(train_alone(train, labels, seed=seed, sgd=True, **alone), test),
                    "local_only_mean": statistics.mean(evaluate(train_alone(p, labels, seed=seed, **alone), test) for p in parts if len(p)),
                }
                for method, strategy, extra in methods:
                    m = federated(parts, test_path, labels, strategy=strategy, rounds=args.rounds, engine=args.engine, work=work / f"{name}-{spec}-{seed}-{method}", extra={**extra, **run})
                    split[method] = m["final_central"]["macro-f1"]
                    split["bytes_per_department_per_round"] = m["bytes_per_department_per_round"]
                per_split.append(split)
            row = {k: statistics.mean(s[k] for s in per_split) for k in per_split[0]}
            row.update({"departments": n_depts, "labels": len(labels), "splits": per_split})
            best = max((m for m, _, _ in methods), key=lambda m: row[m])
            row["best_minus_central_pts"] = 100 * (row[best] - row["centralized"])
            row["best_minus_local_pts"] = 100 * (row[best] - row["local_only_mean"])
            results[f"{name}/{spec}"] = row
            print(f"{name:7s} {spec:14s} central {row['centralized']:.3f} (SGD {row['centralized_sgd']:.3f})  local-only {row['local_only_mean']:.3f}  "
                  + "  ".join(f"{m} {row[m]:.3f}" for m, _, _ in methods) + "  "
                  f"(best {best}: −central {row['best_minus_central_pts']:+.1f} pts, −local {row['best_minus_local_pts']:+.1f} pts; mean of {args.splits} split(s))", flush=True)
    # Partial labels: 5 departments, two of which never saw two topics each (zhihu data).
    if "zhihu" in args.datasets:
        data = load_zhihu()
        labels = tuple(sorted(set(data.labels)))
        train, test, test_path = held_out_split(data, seed=args.seed, test_csv=work / "partial-test.csv")
        owned = [list(ix) for ix in partition_indices(train.labels, 5, parse_partition("iid"), seed=args.seed)]
        rare = labels[-2:]
        holder = 0
        for d in range(1, 5):
            owned[holder] += [i for i in owned[d] if train.labels[i] in rare][:5]
            owned[d] = [i for i in owned[d] if train.labels[i] not in rare]
        parts = [train.subset(ix) for ix in owned]
        y_test = np.asarray(test.labels)

        def rare_recall(model: IntentModel) -> float:
            preds = np.asarray([p.label for p in model.predict(test.texts)])
            return float(np.mean([(preds[y_test == c] == c).mean() for c in rare]))

        union = train.subset([i for ix in owned for i in ix])
        central_union = train_alone(union, labels, seed=args.seed, **alone)
        partial = {"centralized": {"macro_f1": evaluate(central_union, test), "rare_class_recall": rare_recall(central_union)}}
        for strategy in ("fedavg", "classwise", "cocoa"):
            m = federated(parts, test_path, labels, strategy=strategy, rounds=args.rounds, engine=args.engine, work=work / f"partial-{strategy}", extra=run)
            partial[strategy] = {"macro_f1": m["final_central"]["macro-f1"], "rare_class_recall": rare_recall(IntentModel.load(work / f"partial-{strategy}"))}
        results["zhihu/partial-labels"] = {"rare_classes": list(rare), **partial}
        print(f"partial labels (classes {', '.join(rare)} held by 1 of 5 departments): "
              + " | ".join(f"{k} F1 {v['macro_f1']:.3f} recall {v['rare_class_recall']:.3f}" for k, v in partial.items()), flush=True)
    print(json.dumps({"bench": "federation_accuracy", "engine": args.engine, "rounds": args.rounds, "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
