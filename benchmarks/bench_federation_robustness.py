"""One of five departments poisoned (label flipping; scaled updates): FedAvg vs robust strategies.

Data: ../shared/data/zhihuizhengwu_message_classification, stratified 20 % test split, the rest
spread over 5 departments (`--partition`, default iid); department 0 is the attacker. Attacks:
`label_flip` (every label → the next topic), `scaled_update` (its update × −10), `sign_flip`
(its update × −1, so within the median norm), `alie` ("a little is enough", Baruch et al. 2019:
mean − z·std of the other departments' previous-round updates, z = 0.25 for 1 of 5; in-process
engine only, where the attacker can see the others). Baselines, per strategy in the same run:
`clean` (all five honest) and `absent` (department 0 left out: the best a defence can do once it
discards the attacker's update, since that department's data is lost with it). Drops are quoted
against both. Ends with one JSON line.

    .venv/bin/python benchmarks/bench_federation_robustness.py [--engine flower] [--rounds 10] [--splits 5] [--strategies fedavg,filtered]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from statistics import NormalDist

import numpy as np
from flwr.app import ArrayRecord, Context, Message, MessageType

from federation.data import LabelledTexts, parse_partition, partition_indices
from federation.simulation import run_federated_simulation, run_in_process
from real_data import held_out_split, load_zhihu

DEPARTMENTS = 5
ATTACKER = 0
BOOSTED_SCALE = -10.0
STRATEGIES = ("fedavg", "cocoa", "trimmed", "median", "krum", "classwise", "classwise-trimmed", "filtered", "classwise-filtered")
ATTACKS = ("label_flip", "scaled_update", "sign_flip", "alie")


def _is_attacker_train_reply(msg: Message, context: Context, reply: Message) -> bool:
    return msg.metadata.message_type == MessageType.TRAIN and int(context.node_config.get("partition-id", -1)) == ATTACKER and not reply.has_error()


def scaled_update_mod(scale: float):  # type: ignore[no-untyped-def]
    """A mod with which the attacking department sends its update multiplied by `scale`."""

    def mod(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        reply = call_next(msg, context)
        if not _is_attacker_train_reply(msg, context, reply):
            return reply
        sent = msg.content["arrays"].to_numpy_ndarrays()
        got = reply.content["arrays"].to_numpy_ndarrays()
        reply.content["arrays"] = ArrayRecord([s + scale * (g - s) for s, g in zip(sent, got, strict=True)])
        return reply

    return mod


def alie_mod():  # type: ignore[no-untyped-def]
    """A mod for "a little is enough": the attacker sends mean − z·std of the others' last-round updates."""
    n, m = DEPARTMENTS, 1
    z = NormalDist().inv_cdf((n - (math.floor(n / 2 + 1) - m)) / n)
    seen: dict[int, list[list[np.ndarray]]] = {}

    def mod(msg: Message, context: Context, call_next):  # type: ignore[no-untyped-def]
        reply = call_next(msg, context)
        if msg.metadata.message_type != MessageType.TRAIN or reply.has_error():
            return reply
        server_round = int(msg.content["config"].get("server-round", 0))
        sent = msg.content["arrays"].to_numpy_ndarrays()
        got = reply.content["arrays"].to_numpy_ndarrays()
        if int(context.node_config.get("partition-id", -1)) != ATTACKER:
            seen.setdefault(server_round, []).append([g - s for s, g in zip(sent, got, strict=True)])
            return reply
        others = seen.get(server_round - 1)
        if others:
            stacked = [np.stack([u[j] for u in others]) for j in range(len(sent))]
            reply.content["arrays"] = ArrayRecord([s + (st.mean(axis=0) - z * st.std(axis=0)).astype(s.dtype) for s, st in zip(sent, stacked, strict=True)])
        return reply

    return mod


def flip_labels(part: LabelledTexts, labels: tuple[str, ...]) -> LabelledTexts:
    """Every label replaced by the next one in the sorted label list."""
    nxt = {lab: labels[(i + 1) % len(labels)] for i, lab in enumerate(labels)}
    return part.relabelled([nxt[lab] for lab in part.labels])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["inprocess", "flower"], default="inprocess")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", type=int, default=1, help="Average over this many stratified splits (seeds seed, seed+1, ...).")
    parser.add_argument("--partition", default="iid", help="iid | dirichlet:ALPHA | by-label[:SHARE]")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    args = parser.parse_args()
    attacks = [a for a in args.attacks.split(",") if a]
    unknown = sorted(set(attacks) - set(ATTACKS))
    if unknown:
        parser.error(f"unknown attack(s) {unknown}; choose from {', '.join(ATTACKS)}")
    if args.engine == "flower" and "alie" in attacks:
        parser.error("alie needs the in-process engine (the attacker reads the other departments' updates)")
    data = load_zhihu()
    labels = tuple(sorted(set(data.labels)))
    work = Path(tempfile.mkdtemp(prefix="bench-fed-rob-"))
    setups = {}
    for seed in range(args.seed, args.seed + args.splits):
        train, _, test_path = held_out_split(data, seed=seed, test_csv=work / f"test-{seed}.csv")
        clean_parts = [train.subset(ix) for ix in partition_indices(train.labels, DEPARTMENTS, parse_partition(args.partition), seed=seed)]
        flipped_parts = [flip_labels(p, labels) if i == ATTACKER else p for i, p in enumerate(clean_parts)]
        # (parts, the attacker's mods made fresh for each run: ALIE remembers the rounds it saw)
        setups[seed] = (test_path, {
            "clean": (clean_parts, lambda: ()),
            "absent": ([p for i, p in enumerate(clean_parts) if i != ATTACKER], lambda: ()),
            "label_flip": (flipped_parts, lambda: ()),
            "scaled_update": (clean_parts, lambda: (scaled_update_mod(BOOSTED_SCALE),)),
            "sign_flip": (clean_parts, lambda: (scaled_update_mod(-1.0),)),
            "alie": (clean_parts, lambda: (alie_mod(),)),
        })
    run = run_federated_simulation if args.engine == "flower" else run_in_process
    results: dict[str, dict[str, float]] = {}
    for strategy in args.strategies.split(","):
        row: dict[str, float] = {}
        for attack in ("clean", "absent", *attacks):
            scores = []
            for seed, (test_path, by_attack) in setups.items():
                parts, mods = by_attack[attack]
                config = {"labels": ",".join(labels), "request-types": "none", "strategy": strategy, "num-server-rounds": args.rounds, "eval-data-path": str(test_path)}
                metrics = run(parts, out_dir=work / f"{strategy}-{attack}-{seed}", run_config=config, client_mods=mods())
                scores.append(metrics["final_central"]["macro-f1"])
            row[attack] = float(np.mean(scores))
        for attack in attacks:
            row[f"{attack}_drop_pts"] = 100 * (row["clean"] - row[attack])
            row[f"{attack}_below_absent_pts"] = 100 * (row["absent"] - row[attack])
        row["worst_drop_pts"] = max(row[f"{a}_drop_pts"] for a in attacks) if attacks else 0.0
        row["worst_below_absent_pts"] = max(row[f"{a}_below_absent_pts"] for a in attacks) if attacks else 0.0
        results[strategy] = row
        cells = "  ".join(f"{a} {row[a]:.3f} ({row[f'{a}_drop_pts']:+.1f})" for a in attacks)
        print(f"{strategy:18s} clean {row['clean']:.3f}  absent {row['absent']:.3f}  {cells}  worst drop {row['worst_drop_pts']:+.1f} pts "
              f"(vs absent {row['worst_below_absent_pts']:+.1f})", flush=True)
    if "fedavg" in results and attacks:
        fedavg_clean = results["fedavg"]["clean"]
        for row in results.values():
            row["vs_clean_fedavg_worst_drop_pts"] = 100 * (fedavg_clean - min(row[a] for a in attacks))
    print(
        json.dumps(
            {"bench": "federation_robustness", "engine": args.engine, "rounds": args.rounds, "splits": args.splits, "partition": args.partition, "departments": DEPARTMENTS,
             "attackers": 1, "boosted_scale": BOOSTED_SCALE, "results": results},
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
