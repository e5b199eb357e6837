# IXNode Autoscaling — the two commands are `make run` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench lint venv test-deps

$(VENV)/.runtime: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.testing: $(VENV)/.runtime pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.runtime

## make run: venv, install, migrate, admin user, then web server + django-q2 worker in the foreground.
run: $(VENV)/.runtime
	scripts/run.sh

## make test: installs every system package and binary the tests use, then runs lint + the whole suite.
test: $(VENV)/.testing
	scripts/install-test-deps.sh
	scripts/test.sh

## make bench: prints the benchmark figures (not a test).
bench: $(VENV)/.testing
	scripts/install-test-deps.sh
	$(PY) -m bench

lint: $(VENV)/.testing
	$(VENV)/bin/ruff check .
