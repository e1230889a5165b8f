# The two commands of the README. Each sets up what it needs first (idempotent), then runs.
.PHONY: demo test lint bench

demo:
	@scripts/bootstrap.sh runtime
	.venv/bin/licex demo

test:
	@scripts/bootstrap.sh dev
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports
	.venv/bin/python -m pytest

lint:
	@scripts/bootstrap.sh dev
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

bench:
	@scripts/bootstrap.sh dev
	for b in bench/bench_*.py; do .venv/bin/python -m bench.$$(basename $$b .py) || exit 1; done
