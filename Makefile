# `make demo` and `make test` work on a machine with only Python 3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo playground test bench lint venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python

demo: venv
	$(BIN)/pip install --quiet -e ".[cli]"
	$(BIN)/deltaprop demo

playground: venv
	$(BIN)/pip install --quiet -e ".[cli,playground]"
	$(BIN)/deltaprop playground

# PyTorch is a test oracle (the interop tests) and a benchmark peer, never a dependency.
TORCH := torch==2.13.0

# numba's compiled code, cached once for the whole run (test subprocesses included).
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

test: venv
	$(BIN)/pip install --quiet -e ".[test]" "$(TORCH)"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest src tests

bench: venv
	$(BIN)/pip install --quiet -e ".[sklearn]" "$(TORCH)"
	$(BIN)/python benchmarks/bench_transcendentals.py
	$(BIN)/python benchmarks/bench_training.py --repeats 3 --output docs/benchmarks.md

lint: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .numba_cache build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
