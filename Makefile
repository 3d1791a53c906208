# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install install-dev clean

$(BIN)/sigrelay: pyproject.toml
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)  # an interrupted venv has no pip
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

# pymilter (`sigrelay milter`) compiles against libmilter (Debian: libmilter-dev,
# which .ci/run installs); without it the milter tests skip and the rest installs.
MILTER := $(shell test -e /usr/include/libmilter/mfapi.h && echo ",milter")

$(VENV)/.dev: $(BIN)/sigrelay
	$(BIN)/pip install -q -e '.[dev$(MILTER)]'
	touch $@

install: $(BIN)/sigrelay

install-dev: $(VENV)/.dev

run: install
	$(BIN)/sigrelay db upgrade
	$(BIN)/sigrelay serve

test: install-dev
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data .pytest_cache
