# csbench: `make test` runs the tests, `make bench` benchmarks the newest Collection Store
# commit and publishes the site. Both set everything up first (venv, pinned Bun, npm Collection Store).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REPO   ?= $(CSBENCH_REPO)
REPO_ARG := $(if $(REPO),--repo $(REPO))
RANGE  ?= master^!
PROFILE ?= full
MACHINE_ARG := $(if $(MACHINE),--machine $(MACHINE))
TOOLS  := $(or $(CSBENCH_TOOLS),.tools)

.PHONY: setup test test-fast lint bench publish clean

$(BIN)/csbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/csbench
	$(BIN)/csbench setup

# The driver is type-checked (strict, src/csbench/driver/tsconfig.json) by the pinned TypeScript
# that `csbench setup` installs beside Bun.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TOOLS)/node_modules/.bin/tsc --noEmit -p src/csbench/driver --typeRoots $(TOOLS)/node_modules/@types

# Everything (what CI runs): unit, integration (Bun on the npm Collection Store; the configured
# repository's commits when CSBENCH_REPO is set) and end to end (asv).
test: setup lint
	$(BIN)/python -m pytest -ra --durations=10

# Unit tests and integration tests on the npm Collection Store: no asv, no repository.
test-fast: setup lint
	$(BIN)/python -m pytest -ra -m "not e2e and not repo"

# asv run exits 2 when a benchmark failed (recorded in results/, shown on the site): publish anyway.
bench: setup
	$(BIN)/csbench run $(REPO_ARG) $(MACHINE_ARG) --profile $(PROFILE) $(RANGE) || [ $$? -eq 2 ]
	$(BIN)/csbench publish $(REPO_ARG)

clean:
	rm -rf .asv
