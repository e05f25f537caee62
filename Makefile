# jianfu — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint bench venv clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "jianfu needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/jianfu demo

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

test: $(STAMP) lint
	bash .ci/system-deps.sh
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=20

# make bench: 1k, 20k and 100k respondents. make bench BIG=1 [BIG_N=1000000]: one wave of BIG_N in 10 files.
BIG_N ?= 1000000
$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,bench]"
	@touch $@

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py $(if $(BIG),--big $(BIG_N))

clean:
	rm -rf $(VENV) data/store data/archive data/inbox reports/*.xlsx
