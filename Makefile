# One command per task; CI calls `make test` (see .ci/run).
.PHONY: serve test bench lint

serve:
	bash scripts/serve.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/bench.sh

lint:
	bash scripts/setup-python.sh && .venv/bin/lint-imports
