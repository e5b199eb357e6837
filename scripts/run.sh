#!/usr/bin/env bash
# make run: migrate, ensure the admin user and schedules, then the web server and the django-q2 worker in the
# foreground with a setup summary (manage.py serve); Ctrl-C stops both and exits 0. Settings come from the
# environment and, when present, .env (see .env.example); var/ holds the database, the secret key and gunicorn's
# control socket.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=ixnode.settings
exec .venv/bin/python manage.py serve "$@"
