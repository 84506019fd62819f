#!/usr/bin/env bash
# Every benchmark in benchmarks/, each printing its figures and ending with one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
for bench in benchmarks/bench_*.py; do
  echo "== $bench"
  .venv/bin/python "$bench"
done
