# IXNode Autoscaling — `make lab` (the whole loop on this machine), `make run` (against your systems) and
# `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run lab test bench lint venv test-deps

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

## make lab: vcsim, Prometheus + Alertmanager, the F5 double, the service's VMs on loopback, a load generator and
## the product with one demo service; Ctrl-C stops everything (docs/lab.md).
lab: $(VENV)/.runtime
	scripts/install-test-deps.sh --lab
	$(PY) -m lab

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
