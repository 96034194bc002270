# The two set-up commands: `make serve` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: serve test bench-writeback bench-dispatch bench-import bench-console clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## Start the HTTPS server on the embedded SQLite database (./openisales-data).
serve: $(VENV)/.installed
	$(BIN)/openisales serve $(ARGS)

## Lint, type-check and run the whole test suite (PostgreSQL too when
## OPENISALES_TEST_PG_URL is set).
test: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/test

## Benchmarks (PostgreSQL on this machine; see docs/benchmarks.md).
bench-writeback: $(VENV)/.installed
	$(BIN)/python bench/writeback/run.py $(ARGS)

bench-dispatch: $(VENV)/.installed
	$(BIN)/python bench/dispatch/run.py $(ARGS)

bench-import: $(VENV)/.installed
	$(BIN)/python bench/import/run.py $(ARGS)

bench-console: $(VENV)/.installed
	$(BIN)/python bench/console/run.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
