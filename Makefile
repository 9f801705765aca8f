# Every target runs the same scripts as CI and the README.
.PHONY: help run test lint bench-rights

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

run:  ## install and start the platform on SQLite with the demo dataset
	./scripts/start

test:  ## install and run lint, types and the whole test suite (SQLite + PostgreSQL)
	./scripts/test

lint:  ## ruff and mypy only
	.venv/bin/ruff check src tests bench && .venv/bin/ruff format --check src tests bench && .venv/bin/mypy

bench-rights:  ## benchmark `rights compute` on PostgreSQL (1,000,000 worker-years)
	.venv/bin/python bench/rights_compute.py --workers 1000000 --db postgresql
