#!/usr/bin/env bash
# Lint, the import contracts, migration check and the whole pytest suite. pytest's "no tests ran" (exit 5) fails like any error.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=tests.settings
.venv/bin/ruff check .
# The architecture's contracts (pyproject.toml [tool.importlinter], docs/architecture.md).
.venv/bin/lint-imports --no-cache
# Types ([tool.mypy] in pyproject.toml): strict where the product meets the external systems. Incremental, with its
# cache in .mypy_cache (a warm run takes seconds, a cold one under a minute).
.venv/bin/mypy
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || {
  echo "models changed without a migration: run manage.py makemigrations" >&2; exit 1; }
.venv/bin/python -m pytest "$@"
