# townsquare — `make run` to use it, `make test` to check it.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run test lint format typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

## run: install into .venv and serve on http://127.0.0.1:8000 (SQLite in ./townsquare-data)
run: $(VENV)/.installed
	$(BIN)/townsquare serve

## test: lint, type-check and the whole test suite
test: $(VENV)/.test-installed lint typecheck pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(VENV)/.test-installed
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

# Two xdist workers (this machine and CI have two cores), each with its own Redis databases
# (tests/conftest.py, XDIST_WORKER). PYTEST_WORKERS=0 runs the tests in one process.
PYTEST_WORKERS ?= 2
pytest: $(VENV)/.test-installed
	$(BIN)/pytest -n $(PYTEST_WORKERS)

## bench: every benchmark at its small size (BENCH_ARGS=--full for the issue's sizes)
bench: $(VENV)/.test-installed
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
