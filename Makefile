# `make demo` and `make test` work on a machine with only Python 3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo playground test test-dask-ml bench lint venv clean

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

# numba's compiled code, cached once for the whole run (test subprocesses included).  numba
# keys a cached function on its own file only, so a kernel compiled with another module's
# functions inside would outlive a change there: the directory is named by the engine's sources.
ENGINE_SOURCES := $(shell cat src/deltaprop/engine/*.py | cksum | cut -d' ' -f1)
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache/$(ENGINE_SOURCES)

test: venv
	$(BIN)/pip install --quiet -e ".[test]" "$(TORCH)"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest src tests
	$(MAKE) test-dask-ml

# dask-ml's IncrementalSearchCV and HyperbandSearchCV do not run on the newest Dask
# (any estimator); this runs deltaprop's test of them on the last Dask they support,
# in a virtual environment of its own, where the test must pass, not skip.
DASK_ML_COMPAT := "dask[array,dataframe]==2025.1.0" "distributed==2025.1.0" "dask-ml==2025.1.0"
COMPAT := .venv-dask-ml

$(COMPAT)/bin/python:
	$(PYTHON) -m venv $(COMPAT)

test-dask-ml: $(COMPAT)/bin/python
	$(COMPAT)/bin/pip install --quiet -e ".[cli,dask]" $(DASK_ML_COMPAT) pytest hypothesis
	DELTAPROP_REQUIRE_DASK_ML=1 $(COMPAT)/bin/python -m pytest -q -p no:cacheprovider tests/test_dask.py -k dask_ml

bench: venv
	$(BIN)/pip install --quiet -e ".[sklearn]" "$(TORCH)"
	$(BIN)/python benchmarks/bench_transcendentals.py
	$(BIN)/python benchmarks/bench_training.py --repeats 3 --output docs/benchmarks.md

lint: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(COMPAT) .numba_cache build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
