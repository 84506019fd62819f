#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: system services, Python env, import contract,
# every test on SQLite, then the database-backed tests again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup-python.sh
export HOTLINE_TEST_POSTGRES_URL=${HOTLINE_TEST_POSTGRES_URL:-postgresql+psycopg://hotline:hotline@127.0.0.1:5432/hotline_test}
export HOTLINE_TEST_REDIS_URL=${HOTLINE_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export HOTLINE_TEST_REQUIRE_SERVICES=1
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
HOTLINE_TEST_DATABASE_URL=$HOTLINE_TEST_POSTGRES_URL .venv/bin/python -m pytest -m "db" -p no:cacheprovider "$@"
