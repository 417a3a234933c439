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
# --dist worksteal: a worker that runs out of tests takes half of the other's queue, so the
# two end together (tests/conftest.py puts the long tests first). Bytecode is written even
# where PYTHONDONTWRITEBYTECODE is set: each worker and each `townsquare` process the tests
# start would compile src/ and tests/ again (collection alone: ~16 s of CPU instead of ~9 s).
PYTEST_WORKERS ?= 2
pytest: $(VENV)/.test-installed
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

## bench: every benchmark at its small size (BENCH_ARGS=--full for the issue's sizes)
bench: $(VENV)/.test-installed
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
