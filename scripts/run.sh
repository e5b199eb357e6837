#!/usr/bin/env bash
# make run: migrate, ensure the admin user, then run the web server and the django-q2 worker in the
# foreground; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s var/secret_key ]; then
    (umask 077; $PY -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key)
  fi
  SECRET_KEY=$(cat var/secret_key)
  export SECRET_KEY
fi
export DJANGO_SETTINGS_MODULE=ixnode.settings
PORT=${PORT:-8000}

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py compilemessages -v 0 >/dev/null 2>&1 || true
$PY manage.py ensure_admin
$PY manage.py ensure_schedules  # pipeline reconcile schedule; rolls back runs left by a dead worker

# /metrics merges every gunicorn worker's (and the worker cluster's) metrics from this directory.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/metrics}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping (web server and worker)…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  echo "stopped."
}
trap stop INT TERM EXIT

# Each child runs in its own session: Ctrl-C reaches only this script, whose trap then stops each child once
# (a second signal from the terminal made django-q2 stop twice and print a traceback).
setsid $PY manage.py qcluster &
pids+=($!)
setsid .venv/bin/gunicorn ixnode.wsgi:application --bind "127.0.0.1:${PORT}" --workers "${WEB_CONCURRENCY:-2}" \
  --threads "${GUNICORN_THREADS:-4}" --access-logfile - &
pids+=($!)
echo "IXNode Autoscaling on http://127.0.0.1:${PORT}/ (admin: /admin/) — Ctrl-C stops it"
wait -n "${pids[@]}"
