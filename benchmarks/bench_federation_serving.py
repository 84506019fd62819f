"""Serving: ms per message and model size of the intent model; out-of-scope rejection of real chit-chat.

Model: the bootstrap model (`bootstrap_model`, synthetic taxonomy data, seed 0). Latency on real
citizen messages (../shared/data/zhihuizhengwu_message_classification), batch of 1 and of 64;
baseline: featurisation alone (the floor any hashed model pays). Out-of-scope: SMP2017-ECDT `chat`
utterances (../shared/data/smp2017_ecdt_intent) must not be routed to a department; in-scope
real messages should be. Ends with one JSON line.

    .venv/bin/python benchmarks/bench_federation_serving.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from federation.model import IntentModel
from federation.synthetic import bootstrap_model
from real_data import load_smp2017, load_zhihu


def routed(model: IntentModel, texts: list[str]) -> float:
    """Share of texts the model sends to a department (not out of scope)."""
    return sum(not p.out_of_scope for p in model.predict(texts)) / len(texts)


def _median_ms(fn, items: list, repeats: int = 3) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(items)
        runs.append((time.perf_counter() - start) * 1000 / len(items))
    return statistics.median(runs)


def main() -> None:
    out = Path(tempfile.mkdtemp(prefix="bench-fed-serve-"))
    start = time.perf_counter()
    bootstrap_model(out, seed=0)
    bootstrap_s = time.perf_counter() - start
    model = IntentModel.load(out)
    messages = load_zhihu().texts
    model.predict(messages[:10])
    single = [messages[i : i + 1] for i in range(200)]
    one_ms = statistics.median([_median_ms(model.predict, s, repeats=1) for s in single])
    batch_ms = _median_ms(lambda xs: [model.predict(xs[i : i + 64]) for i in range(0, len(xs), 64)], messages[:512])
    feat_ms = _median_ms(model.hasher.transform, messages[:512])
    chat, other = load_smp2017()
    chat_routed, other_routed, citizen_routed = routed(model, chat), routed(model, other), routed(model, messages)
    size_mb = sum(f.stat().st_size for f in out.iterdir()) / 1e6
    print(f"bootstrap training {bootstrap_s:.1f} s; model {model.size_bytes / 1e6:.1f} MB in memory, {size_mb:.1f} MB on disk")
    print(f"predict: {one_ms:.3f} ms/message one at a time, {batch_ms:.3f} ms/message in batches of 64; featurisation alone {feat_ms:.3f} ms/message "
          f"(model overhead ×{batch_ms / feat_ms:.2f})")
    print(f"SMP2017 chit-chat routed to a department: {chat_routed:.1%} of {len(chat)}; other assistant queries routed: {other_routed:.1%}; "
          f"real citizen messages routed (not out-of-scope): {citizen_routed:.1%}")
    print(json.dumps({
        "bench": "federation_serving",
        "bootstrap_train_s": round(bootstrap_s, 2),
        "model_mb_memory": round(model.size_bytes / 1e6, 2),
        "model_mb_disk": round(size_mb, 2),
        "predict_ms_single": round(one_ms, 3),
        "predict_ms_batch64": round(batch_ms, 3),
        "featurise_ms_baseline": round(feat_ms, 3),
        "chitchat_routed_rate": round(chat_routed, 4),
        "other_offdomain_routed_rate": round(other_routed, 4),
        "citizen_routed_rate": round(citizen_routed, 4),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
