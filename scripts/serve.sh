#!/usr/bin/env bash
# Set up and run the product on http://127.0.0.1:8000 with an embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
.venv/bin/hotline setup
exec .venv/bin/hotline serve --host "${HOTLINE_HOST:-127.0.0.1}" --port "${HOTLINE_PORT:-8000}"
