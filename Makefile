# csbench: `make test` runs the tests, `make bench` benchmarks the newest Collection Store
# commit and publishes the site. Both set everything up first (venv, pinned Bun, npm Collection Store).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REPO   ?= $(CSBENCH_REPO)
REPO_ARG := $(if $(REPO),--repo $(REPO))
RANGE  ?= master^!
MACHINE_ARG := $(if $(MACHINE),--machine $(MACHINE))

.PHONY: setup test test-fast lint bench publish clean

$(BIN)/csbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/csbench
	$(BIN)/csbench setup

lint: $(BIN)/csbench
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Everything (what CI runs): unit, integration (Bun on the npm Collection Store; the configured
# repository's commits when CSBENCH_REPO is set) and end to end (asv).
test: setup lint
	$(BIN)/python -m pytest -ra

# Unit tests and integration tests on the npm Collection Store: no asv, no repository.
test-fast: setup lint
	$(BIN)/python -m pytest -ra -m "not e2e and not repo"

# asv run exits 2 when a benchmark failed (recorded in results/, shown on the site): publish anyway.
bench: setup
	$(BIN)/csbench run $(REPO_ARG) $(MACHINE_ARG) $(RANGE) || [ $$? -eq 2 ]
	$(BIN)/csbench publish $(REPO_ARG)

clean:
	rm -rf .asv
