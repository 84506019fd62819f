"""One of five departments poisoned (label flipping; scaled updates): FedAvg vs robust strategies.

Data: ../shared/data/zhihuizhengwu_message_classification, stratified 20 % test split, the rest
spread iid over 5 departments; department 0 is the attacker. Baseline: each strategy without an
attacker, in the same run. Ends with one JSON line.

    .venv/bin/python benchmarks/bench_federation_robustness.py [--engine flower] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from flwr.app import ArrayRecord, Context, Message, MessageType

from federation.data import LabelledTexts, parse_partition, partition_indices
from federation.simulation import run_federated_simulation, run_in_process
from real_data import held_out_split, load_zhihu

ATTACKER = 0
SCALE = -10.0
STRATEGIES = ("fedavg", "trimmed", "median", "krum", "classwise", "classwise-trimmed")


def scaled_update_mod(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
    """The attacking department sends its update multiplied by SCALE (sign-flipped and boosted)."""
    reply = call_next(msg, context)
    if msg.metadata.message_type != MessageType.TRAIN or int(context.node_config.get("partition-id", -1)) != ATTACKER or reply.has_error():
        return reply
    sent = msg.content["arrays"].to_numpy_ndarrays()
    got = reply.content["arrays"].to_numpy_ndarrays()
    reply.content["arrays"] = ArrayRecord([s + SCALE * (g - s) for s, g in zip(sent, got, strict=True)])
    return reply


def flip_labels(part: LabelledTexts, labels: tuple[str, ...]) -> LabelledTexts:
    """Every label replaced by the next one in the sorted label list."""
    nxt = {lab: labels[(i + 1) % len(labels)] for i, lab in enumerate(labels)}
    return LabelledTexts(part.texts, [nxt[lab] for lab in part.labels])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["inprocess", "flower"], default="inprocess")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    args = parser.parse_args()
    data = load_zhihu()
    labels = tuple(sorted(set(data.labels)))
    work = Path(tempfile.mkdtemp(prefix="bench-fed-rob-"))
    train, _, test_path = held_out_split(data, seed=args.seed, test_csv=work / "test.csv")
    clean_parts = [train.subset(ix) for ix in partition_indices(train.labels, 5, parse_partition("iid"), seed=args.seed)]
    flipped_parts = [flip_labels(p, labels) if i == ATTACKER else p for i, p in enumerate(clean_parts)]
    run = run_federated_simulation if args.engine == "flower" else run_in_process
    results: dict[str, dict[str, float]] = {}
    for strategy in args.strategies.split(","):
        row = {}
        for attack, parts, mods in (("clean", clean_parts, ()), ("label_flip", flipped_parts, ()), ("scaled_update", clean_parts, (scaled_update_mod,))):
            config = {"labels": ",".join(labels), "request-types": "none", "strategy": strategy, "num-server-rounds": args.rounds, "eval-data-path": str(test_path)}
            metrics = run(parts, out_dir=work / f"{strategy}-{attack}", run_config=config, client_mods=mods)
            row[attack] = metrics["final_central"]["macro-f1"]
        row["label_flip_drop_pts"] = 100 * (row["clean"] - row["label_flip"])
        row["scaled_update_drop_pts"] = 100 * (row["clean"] - row["scaled_update"])
        results[strategy] = row
        print(f"{strategy:18s} clean {row['clean']:.3f}  label-flip {row['label_flip']:.3f} ({row['label_flip_drop_pts']:+.1f} pts drop)  "
              f"scaled {row['scaled_update']:.3f} ({row['scaled_update_drop_pts']:+.1f} pts drop)", flush=True)
    if "fedavg" in results:
        fedavg_clean = results["fedavg"]["clean"]
        for row in results.values():
            row["vs_clean_fedavg_worst_drop_pts"] = 100 * (fedavg_clean - min(row["label_flip"], row["scaled_update"]))
    print(json.dumps({"bench": "federation_robustness", "engine": args.engine, "rounds": args.rounds, "departments": 5, "attackers": 1, "scale": SCALE, "results": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
