# csbench: `make test` runs the tests, `make bench` benchmarks the newest Collection Store
# commit and publishes the site. Both set everything up first (venv, pinned Bun, npm Collection Store).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REPO   ?= $(CSBENCH_REPO)
REPO_ARG := $(if $(REPO),--repo $(REPO))
RANGE  ?= master^!

.PHONY: setup test lint bench publish clean

$(BIN)/csbench: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/csbench
	$(BIN)/csbench setup

lint: $(BIN)/csbench
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python -m pytest -ra

bench: setup
	$(BIN)/csbench run $(REPO_ARG) $(RANGE)
	$(BIN)/csbench asv $(REPO_ARG) publish

clean:
	rm -rf .asv
