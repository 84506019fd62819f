"""Pre-review accuracy on the seeded synthetic corpus and on the real document images.

Reports precision/recall per finding code (over (application, code, file) triples), the verdict
confusion matrix, field accuracy, the share of defective applications caught and of good ones
passed; baseline in the same run: the same corpus with the quality gate and cross-checks only
(no OCR-based checks) is not meaningful, so the baseline is "every application passes" (what a
clerk gets without pre-review). Ends with one JSON line.

    .venv/bin/python benchmarks/bench_prereview_accuracy.py --n 100 --workers 2

``--seed`` draws another corpus from the generator (a held-out run); ``--defects a,b`` injects only
those defects (a targeted run; services none of them applies to get clean applications only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TODAY = dt.date(2026, 11, 24)
_PIPELINE = None


def _init(threads: int) -> None:
    global _PIPELINE
    from prereview.pipeline import Pipeline
    from prereview.settings import PrereviewSettings

    _PIPELINE = Pipeline.create(settings=PrereviewSettings(ocr_threads=threads, ocr_cache_entries=0))


def _run_one(job: tuple[str, int, list[str]]) -> dict[str, Any]:
    from guides import load_demo_catalog
    from prereview.corpus import generate_application

    service_code, seed, defects = job
    service = next(s for s in load_demo_catalog() if s.code == service_code)
    files, form, facts, truth = generate_application(service_code, seed, defects)
    started = time.perf_counter()
    assert _PIPELINE is not None
    report = _PIPELINE.check(service=service, files=files, form=form, facts=facts, application_date=TODAY)
    return {"truth": truth, "report": report.to_json_dict(), "seconds": time.perf_counter() - started,
            "pages": len(files)}


def _jobs(n: int, seed: int, only: tuple[str, ...] = ()) -> list[tuple[str, int, list[str]]]:
    import random

    from prereview.corpus import SERVICES, applicable_defects

    rng = random.Random(seed)
    jobs = []
    defective: Counter[str] = Counter()
    for index in range(n):
        service = SERVICES[index % len(SERVICES)]
        # 40 % clean applications; the rest get one defect, cycling so every defect is represented.
        defects: list[str] = []
        choices = [d for d in applicable_defects(service) if not only or d in only]
        if index % 5 not in (0, 3) and choices:
            defects = [choices[(defective[service] + rng.randrange(2)) % len(choices)]]
            defective[service] += 2
        jobs.append((service, seed * 100_000 + index, defects))
    return jobs


def _score(results: list[dict[str, Any]]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    field_total = field_right = 0
    misses = []
    for result in results:
        truth, report = result["truth"], result["report"]
        expected = {(item["code"], item["file"]) for item in truth["expected_findings"]}
        found = {(f["code"], f["file"]) for f in report["findings"] if f["severity"] == "blocking"}
        for item in expected & found:
            tp[item[0]] += 1
        for item in found - expected:
            fp[item[0]] += 1
        for item in expected - found:
            fn[item[0]] += 1
        confusion[truth["expected_verdict"]][report["verdict"]] += 1
        if expected != found:
            misses.append({"seed": truth["seed"], "service": truth["service"], "defects": truth["defects"],
                           "missed": sorted(map(str, expected - found)), "extra": sorted(map(str, found - expected)),
                           "verdict": report["verdict"]})
        pages = {page["file"]: page["fields"] for page in report["fields"]["pages"]}
        for file, fields in truth["expected_fields"].items():
            if any(f["code"].startswith("image_") or f["code"] == "document_cropped"
                   for f in truth["expected_findings"] if f["file"] == file):
                continue  # pages refused by the quality gate are not read on purpose
            for key, value in fields.items():
                field_total += 1
                field_right += "".join(str(pages.get(file, {}).get(key, "")).split()) == "".join(value.split())
    codes = sorted(set(tp) | set(fp) | set(fn))
    per_code = {code: {"precision": round(tp[code] / (tp[code] + fp[code]), 3) if tp[code] + fp[code] else None,
                       "recall": round(tp[code] / (tp[code] + fn[code]), 3) if tp[code] + fn[code] else None,
                       "tp": tp[code], "fp": fp[code], "fn": fn[code]} for code in codes}
    defective = sum(confusion["needs_fix"].values())
    good = sum(confusion["pass"].values())
    return {
        "applications": len(results),
        "per_code": per_code,
        "confusion": {expected: dict(counts) for expected, counts in confusion.items()},
        "defective_caught_share": round(confusion["needs_fix"]["needs_fix"] / defective, 3) if defective else None,
        "defective_not_passed_share": round(1 - confusion["needs_fix"]["pass"] / defective, 3) if defective else None,
        "good_passed_share": round(confusion["pass"]["pass"] / good, 3) if good else None,
        "baseline_no_prereview": {"defective_caught_share": 0.0, "good_passed_share": 1.0},
        "field_accuracy": round(field_right / field_total, 3) if field_total else None,
        "fields_checked": field_total,
        "misses": misses,
    }


def _real_images() -> dict[str, Any]:
    from prereview.pipeline import Pipeline
    from prereview.settings import PrereviewSettings

    folder = SHARED / "zh_document_images"
    labels = {item["file"]: item for item in json.loads((folder / "labels.json").read_text(encoding="utf-8"))}
    pipeline = Pipeline.create(settings=PrereviewSettings())
    verdicts: Counter[str] = Counter()
    crashes = 0
    specimen_codes: list[str] = []
    field_total = field_right = 0
    for path in sorted((folder / "images").iterdir()):
        try:
            report = pipeline.inspect(files=[(path.name, path.read_bytes())], application_date=TODAY)
        except Exception:  # the benchmark counts crashes instead of stopping
            crashes += 1
            continue
        verdicts[report.verdict] += 1
        if path.name == "chineseocr_idcard-demo.jpeg":
            specimen_codes = sorted({f.code.value for f in report.findings})
            got = report.fields["pages"][0]["fields"]
            for key, value in labels[path.name]["fields"].items():
                field_total += 1
                field_right += got.get(key) == value
    return {"images": sum(verdicts.values()) + crashes, "crashes": crashes, "verdicts": dict(verdicts),
            "specimen_codes": specimen_codes, "specimen_field_accuracy": round(field_right / field_total, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="applications in the corpus")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--defects", default="", help="comma-separated defects to inject (default: all)")
    args = parser.parse_args()
    from prereview.corpus import DEFECTS

    only = tuple(name for name in args.defects.split(",") if name)
    unknown = sorted(set(only) - set(DEFECTS))
    if unknown:
        parser.error(f"unknown defects {', '.join(unknown)}; known: {', '.join(DEFECTS)}")
    jobs = _jobs(args.n, args.seed, only)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_init, initargs=(1,)) as pool:
        results = []
        for result in pool.map(_run_one, jobs):
            results.append(result)
            truth, report = result["truth"], result["report"]
            if report["verdict"] != truth["expected_verdict"]:
                unexpected = [(f["code"], f["file"], f["detail"]) for f in report["findings"] if f["severity"] != "info"]
                print(f"verdict {report['verdict']} for {truth['service']} seed {truth['seed']} {truth['defects']}: "
                      f"{unexpected}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    scores = _score(results)
    real = _real_images()
    per_page = [r["seconds"] / r["pages"] for r in results]
    print(f"applications {len(results)} in {elapsed:.0f} s; median {statistics.median(per_page):.2f} s/page per worker")
    print("verdict confusion (expected -> predicted):", json.dumps(scores["confusion"]))
    for code, row in scores["per_code"].items():
        print(f"  {code:32s} precision {row['precision']}  recall {row['recall']}  (tp {row['tp']} fp {row['fp']} fn {row['fn']})")
    print(f"defective caught (needs_fix) {scores['defective_caught_share']}, not passed {scores['defective_not_passed_share']}; "
          f"good passed {scores['good_passed_share']} (baseline without pre-review: 0.0 caught, 1.0 passed)")
    print(f"field accuracy {scores['field_accuracy']} over {scores['fields_checked']} fields")
    for miss in scores["misses"]:
        print("  miss:", json.dumps(miss, ensure_ascii=False), file=sys.stderr)
    print(f"real images: {json.dumps(real, ensure_ascii=False)}")
    summary = {key: value for key, value in scores.items() if key != "misses"}
    summary.update({"seconds": round(elapsed, 1), "median_s_per_page": round(statistics.median(per_page), 3),
                    "real_images": real, "workers": args.workers, "seed": args.seed, "defects": list(only) or "all"})
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
