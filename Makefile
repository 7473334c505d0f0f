# rulesvc — the two commands of the README are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test venv lint bench demo clean browser

$(STAMP): setup.cfg constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "rulesvc needs Python 3.11 (durable-rules does not build on newer ones); set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

venv: $(STAMP)

## Start the service on the embedded default (SQLite under instance/, demo province on first start).
run: $(STAMP)
	$(BIN)/rulesvc serve --host $(HOST) --port $(PORT)

## Run the linters, then the whole test suite (SQLite, and PostgreSQL when it answers on 127.0.0.1:5432),
## one pytest-xdist worker per core and one more, four at most (each holds its own databases, connections and
## browser; a worker often waits on PostgreSQL, Chromium or a subprocess, and the spare one uses that time), a
## test file at a time per worker (TEST_WORKERS=0: in one process; TEST_WORKERS=N: N workers).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n + 1 : 4 )))
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## ruff, the import contracts (setup.cfg) and mypy (pyproject.toml: strict on the engine).
lint: $(STAMP)
	$(BIN)/ruff check rulesvc admin tests bench
	$(BIN)/lint-imports --no-logo setup.cfg
	$(BIN)/mypy

## Benchmarks: each prints its figures with a same-run baseline; record them in bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python bench/bench_demo_load.py
	$(BIN)/python bench/bench_durable_adapter.py
	$(BIN)/python bench/bench_engine.py

## Install the Debian Chromium + CJK fonts the browser tests use (needs root / apt).
browser:
	apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk

clean:
	rm -rf $(VENV) build *.egg-info
