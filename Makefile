# The two commands of the README's quick start: `make demo` and `make test`.
# Both create .venv on first use and install the pinned tools from requirements-dev.txt.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck fmt bench clean system-deps docs dist

$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/codex-migrate demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/gen_cli_docs.py --check

# docs/CLI.md from the CLI's own --help (lint fails when it is stale).
docs: $(STAMP)
	$(BIN)/python scripts/gen_cli_docs.py

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian packages the tests need (chromium for the export browser test); as root only.
system-deps:
	sh scripts/install-system-deps.sh

# pytest exits 5 when a selection (PYTEST_ARGS) matches no test: say so instead of failing.
test: system-deps lint typecheck
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests for: $(PYTEST_ARGS)"; exit 0; fi; \
	exit $$rc

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_real --sessions 3000 30000
	$(BIN)/python -m benchmarks.bench_scan
	$(BIN)/python -m benchmarks.bench_import
	$(BIN)/python benchmarks/bench_export.py
	$(BIN)/python -m benchmarks.bench_ui_flow --sessions 3000

# A release for this platform, built in a clean temp folder: sdist, wheel, single-file
# executable and SHA256SUMS in dist/ (see README, "Releasing"). Same command on every OS.
dist: $(STAMP)
	$(BIN)/python scripts/build_dist.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache dist
