"""Import + render time per real catalog item, against bare json.loads of the same lines.

Run: .venv/bin/python benchmarks/bench_guides_import.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from guides import create_environment, import_export, render_guide

EXPORT = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "guangdong_gov_service_items" / "service_items.jsonl"
)


def time_it(function, repeats: int) -> list[float]:
    """Wall-clock seconds of each of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    lines = EXPORT.read_bytes().splitlines()
    items = len(lines)
    env = create_environment()
    render_guide(next(iter(import_export(EXPORT))).service, env=env)  # compile templates once

    def baseline() -> None:
        for line in lines:
            json.loads(line)

    def import_only() -> None:
        outcomes = list(import_export(EXPORT))
        assert all(outcome.ok for outcome in outcomes)

    def import_and_render() -> None:
        for outcome in import_export(EXPORT):
            render_guide(outcome.service, env=env)

    figures = {}
    for name, function in (("json_loads", baseline), ("import", import_only), ("import_render", import_and_render)):
        median = statistics.median(time_it(function, args.repeats))
        figures[f"{name}_ms_per_item"] = round(median / items * 1000, 4)
        print(f"{name:>14}: median {median * 1000:8.1f} ms for {items} items = {median / items * 1000:.4f} ms/item")
    ratio = figures["import_render_ms_per_item"] / figures["json_loads_ms_per_item"]
    print(f"import+render / json.loads ratio: {ratio:.1f}x (goal: import+render <= 5 ms/item)")
    print(json.dumps({"bench": "guides_import", "items": items, "repeats": args.repeats, **figures,
                      "ratio_import_render_vs_json_loads": round(ratio, 2),
                      "goal_met": figures["import_render_ms_per_item"] <= 5.0}))


if __name__ == "__main__":
    main()
