"""Catalog storage and search on 1,578 real service items: batched vs per-service writes, cold vs warm search.

Run: .venv/bin/python benchmarks/bench_hotline_catalog.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from guides import import_export
from hotline.catalog import store_service_version, store_services
from hotline.db import create_db_engine, create_session_factory, session_scope, upgrade_database
from hotline.search import CatalogSearch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = SHARED_DATA / "guangdong_gov_service_items" / "service_items.jsonl"
QUERIES = ["护照", "营业执照", "律师执业", "社保卡", "结婚登记", "出版物", "渔业船舶", "建筑施工", "导游证", "残疾人"]


def _fresh_factory(folder: Path, name: str):  # type: ignore[no-untyped-def]
    engine = create_db_engine(f"sqlite:///{folder / name}")
    upgrade_database(engine)
    return engine, create_session_factory(engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    services = [outcome.service for outcome in import_export(DATA) if outcome.service is not None]

    per_service_s, batched_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for run in range(args.repeats):
            engine, factory = _fresh_factory(folder, f"baseline-{run}.sqlite3")
            started = time.perf_counter()
            with session_scope(factory) as session:
                for service in services:
                    store_service_version(session, service=service, actor="bench")
            per_service_s.append(time.perf_counter() - started)
            engine.dispose()

            engine, factory = _fresh_factory(folder, f"batched-{run}.sqlite3")
            started = time.perf_counter()
            with session_scope(factory) as session:
                store_services(session, services=services, actor="bench")
            batched_s.append(time.perf_counter() - started)
            if run < args.repeats - 1:
                engine.dispose()

        search = CatalogSearch(background=False)
        with factory() as session:
            started = time.perf_counter()
            search.search(session, query=QUERIES[0], limit=10)
            cold_s = time.perf_counter() - started
            warm_ms = []
            for query in QUERIES * 5:
                started = time.perf_counter()
                search.search(session, query=query, limit=10)
                warm_ms.append((time.perf_counter() - started) * 1000)
        engine.dispose()

    per_service, batched = statistics.median(per_service_s), statistics.median(batched_s)
    print(f"items: {len(services)}")
    print(f"store, one version at a time (baseline): median {per_service:.3f} s")
    print(f"store, batched:                          median {batched:.3f} s  ({per_service / batched:.1f}x faster)")
    print(f"search, first query (index build):       {cold_s:.3f} s")
    print(f"search, warm query:                      median {statistics.median(warm_ms):.2f} ms")
    print(
        json.dumps(
            {
                "bench": "hotline_catalog",
                "items": len(services),
                "repeats": args.repeats,
                "store_per_service_s": round(per_service, 3),
                "store_batched_s": round(batched, 3),
                "store_speedup": round(per_service / batched, 2),
                "search_cold_s": round(cold_s, 3),
                "search_warm_median_ms": round(statistics.median(warm_ms), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
