"""Top-3 hit of the BM25 service search vs a character-overlap baseline, on the hand-written citizen query
set (demo catalog alone, and "mixed": demo catalog plus the 1,578 real items as competitors) and on
queries derived from the real provincial items (guides.derived_query).

Run: .venv/bin/python benchmarks/bench_guides_search.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from guides import Service, ServiceIndex, derived_query, import_export, load_demo_catalog, top_k_hit_rate
from guides.search import normalise

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "tests" / "guides" / "search_queries.yaml"
EXPORT = ROOT.parent / "shared" / "data" / "guangdong_gov_service_items" / "service_items.jsonl"


class OverlapBaseline:
    """Baseline: substring match on the name first, then share of query characters found in name + aliases."""

    def __init__(self, services: Sequence[Service]) -> None:
        self.services = list(services)
        self.texts = [normalise(s.name + "".join(s.aliases)) for s in self.services]

    def top(self, query: str, k: int) -> list[str]:
        query = normalise(query)
        chars = set(query)

        def score(i: int) -> float:
            substring = 1.0 if self.services[i].name in query or query in self.texts[i] else 0.0
            return substring + len(chars & set(self.texts[i])) / max(len(chars), 1)

        ranked = sorted(range(len(self.services)), key=lambda i: -score(i))
        return [self.services[i].code for i in ranked[:k]]

    def hit_rate(self, cases: Sequence[tuple[str, str]], k: int = 3) -> float:
        return sum(code in self.top(query, k) for query, code in cases) / len(cases)


def evaluate(label: str, services: list[Service], cases: list[tuple[str, str]]) -> dict[str, float]:
    start = time.perf_counter()
    index = ServiceIndex(services)
    build_s = time.perf_counter() - start
    baseline = OverlapBaseline(services)
    latencies = []
    for query, _ in cases[:200]:
        start = time.perf_counter()
        index.search(query, limit=3)
        latencies.append(time.perf_counter() - start)
    figures = {
        f"{label}_cases": len(cases),
        f"{label}_bm25_top3": round(top_k_hit_rate(index, cases, k=3), 4),
        f"{label}_bm25_top1": round(top_k_hit_rate(index, cases, k=1), 4),
        f"{label}_baseline_top3": round(baseline.hit_rate(cases, k=3), 4),
        f"{label}_baseline_top1": round(baseline.hit_rate(cases, k=1), 4),
        f"{label}_index_build_s": round(build_s, 3),
        f"{label}_query_median_ms": round(statistics.median(latencies) * 1000, 3),
    }
    ratio = figures[f"{label}_bm25_top3"] / max(figures[f"{label}_baseline_top3"], 1e-9)
    figures[f"{label}_top3_ratio_vs_baseline"] = round(ratio, 3)
    print(
        f"{label:>5}: {len(cases)} queries over {len(services)} services | top-3 BM25 {figures[f'{label}_bm25_top3']:.3f}"
        f" vs baseline {figures[f'{label}_baseline_top3']:.3f} (ratio {ratio:.2f}) | top-1 "
        f"{figures[f'{label}_bm25_top1']:.3f} vs {figures[f'{label}_baseline_top1']:.3f} | "
        f"median query {figures[f'{label}_query_median_ms']:.2f} ms"
    )
    return figures


def main() -> None:
    demo = load_demo_catalog()
    demo_cases = [(c["query"], c["code"]) for c in yaml.safe_load(QUERIES.read_text(encoding="utf-8"))]
    real = [outcome.service for outcome in import_export(EXPORT)]
    real_cases = [(derived_query(service), service.code) for service in real]
    figures = {
        **evaluate("demo", demo, demo_cases),
        **evaluate("mixed", demo + real, demo_cases),
        **evaluate("real", real, real_cases),
    }
    print(json.dumps({"bench": "guides_search", **figures}))


if __name__ == "__main__":
    main()
