"""Synthetic out-of-scope rows: chit-chat rejection of a model trained on departments' files alone.

A data set's departments hold requests, not small talk, so a model trained on them routes every
chit-chat message to some department. With `out-of-scope-rows`, each department also trains seeded
synthetic chit-chat (`federation.chitchat`) as `out_of_scope`. Baseline: the same federated run
without them (`--out-of-scope-rows 0`, the file's labels only), on the same split and partition.

Per stratified 80/20 split of zhihuizhengwu (7 departments) and Taipei FAQ (10), `by-label` and
`dirichlet:0.5`, 20 rounds of `cocoa` in process: the server's macro-F1 on the held-out requests
(a request rejected as out of scope counts against it, and the out-of-scope class then enters the
average with F1 0), the share of held-out requests rejected, and the share of real SMP2017-ECDT
`chat` utterances and of its other assistant domains routed to a department. Ends with one JSON line.

    cd benchmarks && ../.venv/bin/python bench_federation_out_of_scope.py [--splits 3] [--rows 70] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench_federation_accuracy import federated, load_taipei
from bench_federation_serving import routed
from federation.data import parse_partition, partition_indices
from federation.model import OUT_OF_SCOPE, IntentModel
from real_data import held_out_split, load_smp2017, load_zhihu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=70, help="out-of-scope-rows per department")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--datasets", default="zhihu,taipei")
    args = parser.parse_args()
    chat, other = load_smp2017()
    work = Path(tempfile.mkdtemp(prefix="bench-fed-oos-"))
    loaders = {"zhihu": (load_zhihu, 7), "taipei": (load_taipei, 10)}
    results = {}
    for name in args.datasets.split(","):
        loader, n_depts = loaders[name]
        data = loader()
        topics = tuple(sorted(set(data.labels)))
        for spec in ("by-label", "dirichlet:0.5"):
            runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
            for seed in range(args.seed, args.seed + args.splits):
                train, test, test_path = held_out_split(data, seed=seed, test_csv=work / f"{name}-{seed}-test.csv")
                parts = [train.subset(ix) for ix in partition_indices(train.labels, n_depts, parse_partition(spec), seed=seed)]
                for variant, labels, rows in (("without", topics, 0), ("with", (*topics, OUT_OF_SCOPE), args.rows)):
                    out = work / f"{name}-{spec}-{seed}-{variant}"
                    metrics = federated(parts, test_path, labels, strategy="cocoa", rounds=args.rounds, engine="inprocess", work=out, extra={"out-of-scope-rows": rows})
                    model = IntentModel.load(out)
                    runs[variant].append({
                        "macro_f1": metrics["final_central"]["macro-f1"],
                        "requests_rejected": 1 - routed(model, test.texts),
                        "chitchat_routed": routed(model, chat),
                        "other_assistant_routed": routed(model, other),
                    })
            row = {variant: {k: statistics.mean(r[k] for r in split_runs) for k in split_runs[0]} for variant, split_runs in runs.items()}
            row["macro_f1_gain_pts"] = 100 * (row["with"]["macro_f1"] - row["without"]["macro_f1"])
            results[f"{name}/{spec}"] = row
            print(f"{name:7s} {spec:14s} " + "  |  ".join(
                f"{v}: macro-F1 {r['macro_f1']:.3f}, requests rejected {r['requests_rejected']:.2%}, chit-chat routed {r['chitchat_routed']:.1%}, "
                f"other assistant queries routed {r['other_assistant_routed']:.1%}" for v, r in row.items() if isinstance(r, dict)
            ) + f"  (macro-F1 {row['macro_f1_gain_pts']:+.2f} pts; mean of {args.splits} split(s))", flush=True)
    print(json.dumps({"bench": "federation_out_of_scope", "rows_per_department": args.rows, "rounds": args.rounds, "splits": args.splits, "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
